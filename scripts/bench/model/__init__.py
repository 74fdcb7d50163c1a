"""The whole-model benchmark's subject: a zoo model projected once and prepared on disk
(``files``, ``prepare``), and the model report.
"""
