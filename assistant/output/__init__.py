"""What an answer becomes: terminal text and JSON (render), debate cards
(cards), Markdown, DOCX and PDF files (export, docx, pdf) and the saved
history of answers (history). Imports writing and below.
"""
