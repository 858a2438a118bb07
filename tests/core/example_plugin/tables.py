"""The guest book's one table."""

from piccolo.columns import Text, Timestamptz, Varchar
from piccolo.table import Table


class GuestbookEntry(Table, tablename="guestbook_entries"):
    author = Varchar(length=100)
    text = Text()
    created_at = Timestamptz()
