"""Periodic reports (R9.3, R9.7): per agency and for the city, as .xlsx and PDF."""
