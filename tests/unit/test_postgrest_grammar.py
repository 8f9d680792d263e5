"""PostgREST's URL grammar -> AST (platform/api/postgrest_grammar.py) and SQL building from it."""

from __future__ import annotations

import pytest

from gauntlet.platform.api.postgrest_catalog import ColumnInfo, ForeignKey, Relation
from gauntlet.platform.api.postgrest_grammar import (
    Column,
    Condition,
    Embed,
    GrammarError,
    Logic,
    OrderTerm,
    Star,
    parse_list,
    parse_prefer,
    parse_query,
    parse_range,
    parse_select,
)
from gauntlet.platform.api.postgrest_sql import (
    RestError,
    delete_statement,
    read_statement,
    relation_source,
    window,
)


def test_select_columns_aliases_casts_and_embeds() -> None:
    items = parse_select("id,label:name,pop:popularity::text,*,author:profiles!fk_author!inner(handle,n:name)")
    assert items[0] == Column("id")
    assert items[1] == Column("name", "label")
    assert items[2] == Column("popularity", "pop", "text")
    assert items[3] == Star()
    embed = items[4]
    assert isinstance(embed, Embed)
    assert (embed.relation, embed.alias, embed.hint, embed.inner) == ("profiles", "author", "fk_author", True)
    assert embed.items == (Column("handle"), Column("name", "n"))


@pytest.mark.parametrize(
    "bad",
    ["a::nosuchtype", "a,,b", "rel(a(b))", "rel(a", "...rel(a)", "data->x", '"unterminated', "a)"],
)
def test_bad_select_is_a_grammar_error(bad: str) -> None:
    with pytest.raises(GrammarError):
        parse_select(bad)


def test_filters_logic_order_and_paging() -> None:
    query = parse_query(
        [
            ("select", "id"),
            ("domain", "eq.fitness"),
            ("name", "not.ilike.*yoga*"),
            ("id", 'in.(1,2,"3,4")'),
            ("read_at", "is.null"),
            ("or", '(a.eq.1,and(b.gt.2,c.is.null),d.eq."x,y")'),
            ("not.and", "(a.eq.1,b.eq.2)"),
            ("profiles.handle", "eq.rider"),
            ("order", "name.desc.nullslast,id"),
            ("limit", "10"),
            ("offset", "5"),
        ]
    )
    assert query.filters[0] == Condition("domain", "eq", "fitness")
    assert query.filters[1] == Condition("name", "ilike", "*yoga*", negated=True)
    assert query.filters[2] == Condition("id", "in", ("1", "2", "3,4"))
    assert query.filters[3] == Condition("read_at", "is", "null")
    group = query.filters[4]
    assert isinstance(group, Logic) and group.op == "or" and len(group.items) == 3
    assert group.items[1] == Logic("and", (Condition("b", "gt", "2"), Condition("c", "is", "null")))
    assert group.items[2] == Condition("d", "eq", "x,y")
    assert query.filters[5] == Logic("and", (Condition("a", "eq", "1"), Condition("b", "eq", "2")), negated=True)
    assert query.embed_filters == {"profiles": [Condition("handle", "eq", "rider")]}
    assert query.order == (OrderTerm("name", True, "last"), OrderTerm("id"))
    assert (query.limit, query.offset) == (10, 5)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("a", "eqq.1"),
        ("a", "1"),
        ("a", "is.maybe"),
        ("a", "in.1,2"),
        ("or", "a.eq.1"),
        ("or", "()"),
        ("limit", "-1"),
        ("limit", "ten"),
        ("order", "a.sideways"),
        ("not.a", "eq.1"),
        ("a", "eq." + "x" * 200_000),
    ],
)
def test_bad_filters_are_grammar_errors(key: str, value: str) -> None:
    with pytest.raises(GrammarError):
        parse_query([(key, value)])


def test_deep_nesting_is_refused() -> None:
    nested = "a.eq.1"
    for _ in range(12):
        nested = f"or({nested},b.eq.2)"
    with pytest.raises(GrammarError):
        parse_query([("or", f"({nested})")])


def test_lists_prefer_and_range() -> None:
    assert parse_list('(a,"b\\"c",d)') == ("a", 'b"c', "d")
    prefer = parse_prefer(["return=representation, count=exact", "resolution=merge-duplicates,bogus=1"])
    assert (prefer.returning, prefer.count, prefer.resolution) == ("representation", "exact", "merge-duplicates")
    assert parse_range("0-24") == (0, 24) and parse_range("10-") == (10, None) and parse_range("x-1") is None


NOTES = Relation(
    "notes",
    "r",
    {
        "id": ColumnInfo("id", "bigint", "N"),
        "owner_id": ColumnInfo("owner_id", "uuid", "U"),
        "body": ColumnInfo("body", "text", "S"),
        "tags": ColumnInfo("tags", "text[]", "A", "text"),
    },
    ("id",),
    (ForeignKey("notes_owner_fk", "owners", ("owner_id",), ("id",)),),
)
OWNERS = Relation(
    "owners", "r", {"id": ColumnInfo("id", "uuid", "U"), "name": ColumnInfo("name", "text", "S")}, ("id",), ()
)
RELATIONS = {"notes": NOTES, "owners": OWNERS}


def test_sql_quotes_catalogue_names_and_parameterises_values() -> None:
    query = parse_query(
        [("select", "id,who:owners(name)"), ("body", "eq.'; drop table notes; --"), ("order", "id.desc")]
    )
    statement = read_statement(RELATIONS, relation_source(NOTES), query, 0, 10)
    assert "drop table" not in statement.sql
    assert "'; drop table notes; --" in statement.values
    assert 'public."notes" AS _t' in statement.sql and '_e1."id" = _t."owner_id"' in statement.sql
    assert '"who"' not in statement.sql and "who" in statement.values  # keys are parameters too


def test_unknown_names_never_reach_sql() -> None:
    with pytest.raises(RestError) as column:
        read_statement(RELATIONS, relation_source(NOTES), parse_query([("nope", "eq.1")]), 0, 10)
    assert (column.value.status, column.value.code) == (400, "42703")
    with pytest.raises(RestError) as embed:
        read_statement(RELATIONS, relation_source(OWNERS), parse_query([("select", "x:nothing(id)")]), 0, 10)
    assert embed.value.code == "PGRST200"
    with pytest.raises(RestError) as array_in:
        read_statement(RELATIONS, relation_source(NOTES), parse_query([("tags", "in.(a)")]), 0, 10)
    assert array_in.value.code == "PGRST100"


def test_delete_uses_filters_and_window_caps_rows() -> None:
    statement = delete_statement(RELATIONS, NOTES, parse_query([("id", "eq.3")]), "minimal")
    assert statement.sql.startswith('DELETE FROM public."notes" AS _t WHERE _t."id" = $1::text::bigint')
    assert window(parse_query([("limit", "5000")]), None) == (0, 1000)
    assert window(parse_query([]), (10, 19)) == (10, 10)
