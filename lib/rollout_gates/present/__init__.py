"""Verdicts and metrics made readable: Markdown banners, tables and figures."""
