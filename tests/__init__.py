"""Tests of the callerid integration."""
