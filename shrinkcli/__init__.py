"""shrink: teach and measure shrinkage in linear mixed models."""
