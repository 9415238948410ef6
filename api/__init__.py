"""ragchat's OpenAI-compatible HTTP API (`python serve.py`): FastAPI routes over the same
`RagService` every other face uses. Any OpenAI client (the `openai` SDK, LangChain's
`ChatOpenAI`, Open WebUI, curl) can ask the documents; answers carry their sources in an extra
`sources` field that such clients simply ignore."""
