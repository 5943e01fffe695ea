"""diskimage-builder integration: building images, the elements' helpers."""
