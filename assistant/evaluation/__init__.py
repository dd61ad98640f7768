"""Measurements: the seeds gold set (evaluate), ArguAna debates (arguana),
stance on one-sided ArgKP libraries (argkp, stance_eval, stance_mixes),
tags against ArgKP key points (tag_eval), and their report (report).
Used by the CLI's ``eval``; imports the api and below.
"""
