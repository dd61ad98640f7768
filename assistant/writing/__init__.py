"""Writing an answer from passages: the modes and their steps.

A mode (modes) is a list of steps (steps, counter, stance, faithful) run by
the pipeline over passages gathered for it (gather); gates drop what a small
model gets wrong, cite ties sentences to their passages, injection screens
sources, prompts and schemas are what the model is asked. Imports index and
llm, never output, app or evaluation.
"""
