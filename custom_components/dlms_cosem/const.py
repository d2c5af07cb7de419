"""Constants shared by the integration's modules."""

from typing import Final

DOMAIN: Final = "dlms_cosem"
