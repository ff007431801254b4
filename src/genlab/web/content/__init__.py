"""Lesson content: the text (`lesson_text`) and the knowledge check (`quiz`)."""
