"""Settlement rules, one module per family, each a pure function of a ``SaleContext``."""
