"""Pure rules of the publisher: metrics, notices, signing, retry policy, feedback states."""
