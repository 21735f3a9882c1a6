"""Text shared by every product: line splitting and notebooks."""
