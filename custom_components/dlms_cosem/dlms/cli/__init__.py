"""Command-line tools: ``python -m custom_components.dlms_cosem.dlms COMMAND``."""
