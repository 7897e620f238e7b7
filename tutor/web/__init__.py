"""The Gradio app: chat, interview and notes tabs, and the HTML they render."""
