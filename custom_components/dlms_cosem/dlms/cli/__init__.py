"""Command-line tools: ``dlms-cosem-stack COMMAND``, or ``python -m custom_components.dlms_cosem.dlms``."""
