"""Tests for the DLMS/COSEM integration."""
