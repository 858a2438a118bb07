"""Full-text search over titles and descriptions: what `?q=` may say, and how each database
answers it.

One syntax on both engines, parsed here (no user text ever reaches a search parser as
written): words (each must appear), `"a phrase"` (its words in that order), `-word` or
`-"a phrase"` (must not appear) and `or` between alternatives. Everything else a query
holds (parentheses, `*`, `:`, `NEAR`, quotes left open) is punctuation that separates words.

PostgreSQL matches a generated `tsvector` column (`search_vector`: title weighted A,
description B) with `websearch_to_tsquery` and ranks by `ts_rank_cd`; SQLite matches the
FTS5 table `videos_search`, kept in step with `videos` by triggers, and ranks by `bm25()`
with the title weighted above the description. Both get the normalised query in their own
syntax, quoted term by term.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

import attrs
from piccolo.querystring import QueryString

from core.errors import ConfigError, ValidationFailed

MAX_QUERY_LENGTH = 200
# PostgreSQL's text-search configuration unless `search_config` names another.
DEFAULT_SEARCH_CONFIG = "english"
# bm25() weights of the FTS5 table's columns, title first: a title match ranks first.
BM25_WEIGHTS = "10.0, 1.0"
# The PostgreSQL column and its indexes (the public listing's partial, the owner's full).
SEARCH_COLUMN = "search_vector"
SEARCH_INDEXES = {
    "videos_public_search_idx": "WHERE visibility = 'PUBLIC' AND processing_status = 'COMPLETED'",
    "videos_search_idx": "",
}
# SQLite's full-text table over `videos` (its rowid is the video's).
FTS_TABLE = "videos_search"
_TERM = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
_WORD = re.compile(r"[^\W_]+")
_CONFIG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@attrs.frozen
class Alternative:
    """Terms that must all appear and terms that must not; each term is its words in order."""

    required: tuple[tuple[str, ...], ...]
    excluded: tuple[tuple[str, ...], ...] = ()


@attrs.frozen
class SearchQuery:
    """A parsed `?q=`: its alternatives (any may match), and a digest naming it in cursors."""

    alternatives: tuple[Alternative, ...]

    @property
    def text(self) -> str:
        """The normalised query in websearch syntax, every term quoted (PostgreSQL's input)."""
        return " or ".join(
            " ".join([*map(_quoted, alternative.required),
                      *("-" + _quoted(term) for term in alternative.excluded)])
            for alternative in self.alternatives)

    @property
    def fts5(self) -> str:
        """The same query as an FTS5 expression of quoted strings."""
        return " OR ".join(_fts5_alternative(alternative) for alternative in self.alternatives)

    @property
    def digest(self) -> str:
        """Names the query (as normalised) in a relevance cursor, without repeating it."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]


def _quoted(term: tuple[str, ...]) -> str:
    return '"' + " ".join(term) + '"'


def _fts5_alternative(alternative: Alternative) -> str:
    required = " AND ".join(map(_quoted, alternative.required))
    excluded = "".join(" NOT " + _quoted(term) for term in alternative.excluded)
    return f"(({required}){excluded})"


def parse_query(text: str) -> SearchQuery:
    """`?q=` as a query both engines answer alike, or a 422 naming `q`."""
    if len(text) > MAX_QUERY_LENGTH:
        raise ValidationFailed.field("q", f"must be at most {MAX_QUERY_LENGTH} characters")
    if not text.strip():
        raise ValidationFailed.field("q", "must contain a word to look for")
    alternatives = [alternative for alternative in _alternatives(text) if alternative.required]
    if not alternatives:
        raise ValidationFailed.field(
            "q", "must contain a word to look for (letters or digits, not only exclusions)")
    return SearchQuery(tuple(alternatives))


def _alternatives(text: str) -> list[Alternative]:
    """The query split at each bare `or`, each part's terms sorted into required and
    excluded; a term without a letter or digit is dropped."""
    alternatives: list[Alternative] = []
    required: list[tuple[str, ...]] = []
    excluded: list[tuple[str, ...]] = []
    for match in _TERM.finditer(unicodedata.normalize("NFKC", text).lower()):
        phrase_sign, phrase, word_sign, word = match.groups()
        if word is not None and not word_sign and word == "or":
            alternatives.append(Alternative(tuple(required), tuple(excluded)))
            required, excluded = [], []
            continue
        term = tuple(_WORD.findall(phrase if word is None else word))
        if term:
            (excluded if (phrase_sign or word_sign) else required).append(term)
    alternatives.append(Alternative(tuple(required), tuple(excluded)))
    return alternatives


# -- each database's side ---------------------------------------------------------------------


def is_config_name(name: str) -> bool:
    """A text-search configuration's name (as pg_ts_config's cfgname)."""
    return bool(_CONFIG_NAME.fullmatch(name))


def _config_literal(config: str) -> str:
    # a validated name (is_config_name): quoting keeps it a literal all the same
    return "'" + config.replace("'", "''") + "'"


def tsquery(config: str, placeholder: str) -> str:
    return f"websearch_to_tsquery({_config_literal(config)}, {placeholder})"


def match_condition(engine: str, config: str, placeholder: str) -> str:
    """A WHERE term: the video matches the query bound at `placeholder`."""
    if engine == "postgres":
        return f"{SEARCH_COLUMN} @@ {tsquery(config, placeholder)}"
    return f"rowid IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {placeholder})"


def scored_source(engine: str, config: str, placeholder: str) -> tuple[str, str, str | None]:
    """What a relevance page reads: its FROM, the score of a row (higher is better, a float
    exactly as the database computes it) and the match condition, if not in the FROM."""
    if engine == "postgres":
        score = f"ts_rank_cd({SEARCH_COLUMN}, {tsquery(config, placeholder)})::float8"
        return "videos", score, match_condition(engine, config, placeholder)
    matches = (f"SELECT rowid AS match_rowid, -bm25({FTS_TABLE}, {BM25_WEIGHTS}) AS score "
               f"FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {placeholder}")
    return (f"videos JOIN ({matches}) AS matches ON videos.rowid = matches.match_rowid",
            "matches.score", None)


def search_vector_expression(config: str) -> str:
    """The generated column's expression for a text-search configuration."""
    literal = _config_literal(config)
    return (f"setweight(to_tsvector({literal}, coalesce(title, '')), 'A') || "
            f"setweight(to_tsvector({literal}, coalesce(description, '')), 'B')")


def postgres_search_ddl(config: str) -> list[str]:
    """The generated column and its indexes, for `config`."""
    return [
        f"ALTER TABLE videos ADD COLUMN {SEARCH_COLUMN} tsvector GENERATED ALWAYS AS "
        f"({search_vector_expression(config)}) STORED",
        *(f"CREATE INDEX IF NOT EXISTS {name} ON videos USING GIN ({SEARCH_COLUMN}) {where}"
          for name, where in SEARCH_INDEXES.items()),
    ]


def postgres_drop_ddl() -> list[str]:
    # dropping the column drops its indexes
    return [f"ALTER TABLE videos DROP COLUMN IF EXISTS {SEARCH_COLUMN}"]


SQLITE_REBUILD = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')"
SQLITE_SEARCH_DDL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(title, description, "
    "content='videos', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_insert AFTER INSERT ON videos BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, title, description) "
    "VALUES (new.rowid, new.title, new.description); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_delete AFTER DELETE ON videos BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, description) "
    "VALUES ('delete', old.rowid, old.title, old.description); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_update AFTER UPDATE OF title, description "
    f"ON videos BEGIN INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, description) "
    "VALUES ('delete', old.rowid, old.title, old.description); "
    f"INSERT INTO {FTS_TABLE}(rowid, title, description) "
    "VALUES (new.rowid, new.title, new.description); END",
    SQLITE_REBUILD,
]
SQLITE_DROP_DDL = [
    *(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{event}" for event in ("insert", "delete", "update")),
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]

# The configurations the generated column was built with, as PostgreSQL prints it.
COLUMN_EXPRESSION = f"""
SELECT pg_get_expr(d.adbin, d.adrelid) AS expression FROM pg_attrdef d
JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE d.adrelid = 'videos'::regclass AND a.attname = '{SEARCH_COLUMN}'
"""
CONFIG_EXISTS_QUERY = "SELECT 1 FROM pg_ts_config WHERE cfgname = {}"
_REGCONFIG = re.compile(r"'([^']+)'::regconfig")


def column_configs(expression: str) -> set[str]:
    return set(_REGCONFIG.findall(expression))


async def config_exists(engine: Any, config: str) -> bool:
    return bool(await engine.run_querystring(QueryString(CONFIG_EXISTS_QUERY, config)))


def unknown_config_message(config: str) -> str:
    return (f"plugins.video.search_config: {config!r} is not in pg_ts_config "
            "(see SELECT cfgname FROM pg_ts_config)")


async def check_postgres_search(engine: Any, config: str) -> None:
    """Start-up: `config` exists, and the search column was built with it."""
    if not await config_exists(engine, config):
        raise ConfigError(unknown_config_message(config))
    rows = await engine.run_querystring(QueryString(COLUMN_EXPRESSION))
    built = column_configs(rows[0]["expression"]) if rows else set()
    if built != {config}:
        raise ConfigError(
            f"plugins.video.search_config: {config!r}, but the search column was built with "
            f"{', '.join(sorted(built)) or 'none'}; run `itube videos reindex-search` to "
            "rebuild it")
