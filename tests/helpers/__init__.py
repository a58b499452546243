"""What several test modules share: the fake Notion API and the never-leak machinery."""
