"""Measuring images: disk, files read, boot time, RAM; benchmark reports."""
