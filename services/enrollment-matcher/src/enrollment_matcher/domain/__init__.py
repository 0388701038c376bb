"""Pure rules of the person file: identity numbers, text normalisation, linkage, status."""
