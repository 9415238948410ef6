"""The text layer, below every other: Unicode normalisation (`text.normalize`), which language a
text is in (`text.language`) and where its sentences end (`text.sentences`). Loaders, the index,
the answer chains and the faces all use it; it imports nothing of ragchat's."""
