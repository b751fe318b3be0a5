package api

// pydanticMaskSchema is a schema as pydantic's model_json_schema writes
// it (with OpenAI strict mode's additionalProperties false) for
//
//	class Genre(str, Enum): NOVEL = "novel"; ESSAY = "essay"; POEM = "poem"
//	class Author(BaseModel):
//	    name: str = Field(max_length=20); born: Optional[int] = None
//	class Chapter(BaseModel):
//	    title: str; pages: int; notes: Optional[str] = None
//	class Book(BaseModel):
//	    title: str = Field(min_length=1, max_length=40); author: Author
//	    genre: Optional[Genre] = None
//	    chapters: list[Chapter] = Field(min_length=1, max_length=3)
//	    sequel: Optional["Book"] = None
const pydanticMaskSchema = `{
  "$defs": {
    "Author": {"additionalProperties": false, "properties": {
        "name": {"maxLength": 20, "title": "Name", "type": "string"},
        "born": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null, "title": "Born"}},
      "required": ["name", "born"], "title": "Author", "type": "object"},
    "Chapter": {"additionalProperties": false, "properties": {
        "title": {"title": "Title", "type": "string"},
        "pages": {"title": "Pages", "type": "integer"},
        "notes": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null, "title": "Notes"}},
      "required": ["title", "pages", "notes"], "title": "Chapter", "type": "object"},
    "Genre": {"enum": ["novel", "essay", "poem"], "title": "Genre", "type": "string"},
    "Book": {"additionalProperties": false, "properties": {
        "title": {"maxLength": 40, "minLength": 1, "title": "Title", "type": "string"},
        "author": {"$ref": "#/$defs/Author"},
        "genre": {"anyOf": [{"$ref": "#/$defs/Genre"}, {"type": "null"}], "default": null},
        "chapters": {"items": {"$ref": "#/$defs/Chapter"}, "maxItems": 3, "minItems": 1, "title": "Chapters", "type": "array"},
        "sequel": {"anyOf": [{"$ref": "#/$defs/Book"}, {"type": "null"}], "default": null}},
      "required": ["title", "author", "genre", "chapters", "sequel"], "title": "Book", "type": "object"}
  },
  "$ref": "#/$defs/Book"
}`
