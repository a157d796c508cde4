"""The import against the official code list, re-imports, failures and malformed files."""

import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from conditions import icd10cm, loading, services
from conditions.indexing import official_text_update
from conditions.models import Article, Block, Chapter, Code, Note

pytestmark = pytest.mark.django_db


def official_order():
    entries = [(c.sort_order, c.number) for c in Chapter.objects.all()]
    entries += [(b.sort_order, b.block_id) for b in Block.objects.all()]
    entries += [(c.sort_order, icd10cm.dotless(c.code)) for c in Code.objects.only("code", "sort_order")]
    return [key for _, key in sorted(entries)]


def snapshot():
    with connection.cursor() as cursor:
        cursor.execute("SELECT md5(string_agg(c::text, '|' ORDER BY c.code)) FROM conditions_code c")
        codes = cursor.fetchone()[0]
        cursor.execute(
            "SELECT md5(string_agg(n.owner_type || n.owner || n.kind || n.position || n.text, '|' "
            "ORDER BY n.owner_type, n.owner, n.kind, n.position)) FROM conditions_note n"
        )
        notes = cursor.fetchone()[0]
    return codes, notes, Chapter.objects.count(), Block.objects.count()


def test_database_holds_exactly_the_official_code_list_in_order():
    assert official_order() == icd10cm.read_code_list(icd10cm.default_code_list_path())


def test_counts_per_level():
    assert Chapter.objects.count() == 22
    assert Block.objects.count() == 297
    assert Code.objects.filter(billable=True).count() == 74719
    assert Code.objects.count() + 22 + 297 == len(icd10cm.read_code_list(icd10cm.default_code_list_path()))


def test_parent_chain_is_consistent():
    w21 = Code.objects.get(code="W21.89XA")
    assert w21.ancestors == ["W21", "W21.8", "W21.89"]
    assert w21.parent_id == "W21.89" and w21.depth == 4 and w21.billable
    assert w21.block_id == "W20-W49" and w21.chapter_id == "20"
    with connection.cursor() as cursor:
        # Every code's chain is its parent's chain plus the parent, and the depth matches.
        cursor.execute(
            """
            SELECT count(*) FROM conditions_code c
            LEFT JOIN conditions_code p ON p.code = c.parent_id
            WHERE c.depth <> cardinality(c.ancestors) + 1
               OR (c.parent_id IS NULL AND c.depth <> 1)
               OR (p.code IS NOT NULL AND c.ancestors <> p.ancestors || p.code)
               OR (p.code IS NOT NULL AND (p.block_id <> c.block_id OR p.chapter_id <> c.chapter_id))
            """
        )
        assert cursor.fetchone()[0] == 0
    # A code is billable exactly when nothing sits below it.
    assert not Code.objects.filter(billable=True, children__isnull=False).exists()
    assert not Code.objects.filter(billable=False, children__isnull=True).exists()


def test_seventh_character_rules_follow_the_code_list():
    # 6th character 7 (death before regaining consciousness) takes only A.
    assert Code.objects.get(code="S06.1X7").billable is False
    assert list(Code.objects.filter(parent="S06.1X7").values_list("code", flat=True)) == ["S06.1X7A"]
    assert not Code.objects.filter(code__in=["S06.1X7D", "S06.1X7S", "S06.1X8S"]).exists()
    assert Code.objects.filter(code__in=["S06.1X6A", "S06.1X6D", "S06.1X6S"]).count() == 3
    assert Code.objects.get(code="S06").seventh_characters == [
        ["A", "initial encounter"],
        ["D", "subsequent encounter"],
        ["S", "sequela"],
    ]
    assert Code.objects.get(code="S72.001A").title.endswith("initial encounter for closed fracture")


def test_notes_keep_owner_kind_and_order():
    excludes = Note.objects.filter(owner_type="chapter", owner="1", kind="excludes2").order_by("position")
    assert [n.text for n in excludes][0] == "carrier or suspected carrier of infectious disease (Z22.-)"
    assert list(excludes.values_list("position", flat=True)) == list(range(excludes.count()))
    assert Note.objects.filter(
        owner_type="code", owner="M77.1", kind="inclusion_term", text__icontains="tennis elbow"
    ).exists()


def test_second_import_changes_nothing():
    before = snapshot()
    summary = loading.import_tabular()
    assert not summary.changed
    assert snapshot() == before
    with connection.cursor() as cursor:
        # No row was rewritten in this transaction (xmin is the writing transaction).
        cursor.execute(
            "SELECT count(*) FROM conditions_code WHERE xmin::text = (pg_current_xact_id()::xid)::text"
        )
        assert cursor.fetchone()[0] == 0


def test_import_failing_half_way_leaves_data_intact(monkeypatch):
    before = snapshot()
    Code.objects.filter(code="M61.2").update(title="Changed locally")
    before = snapshot()
    merge = loading._merge

    def merge_then_fail(cursor, model, *args):
        merge(cursor, model, *args)
        if model is Code:  # chapters, blocks and codes written; notes not yet
            raise RuntimeError("simulated crash")

    monkeypatch.setattr(loading, "_merge", merge_then_fail)
    with pytest.raises(RuntimeError, match="simulated crash"):
        loading.import_tabular()
    assert snapshot() == before
    assert Code.objects.get(code="M61.2").title == "Changed locally"


def test_newer_release_updates_adds_and_retires(tmp_path):
    source = icd10cm.default_tabular_path().read_text(encoding="utf-8")
    source = source.replace(
        "<desc>Paralytic calcification and ossification of muscle</desc>",
        "<desc>Paralytic calcification and ossification of muscle (revised)</desc>",
    )
    # Retire M61.20 (and nothing else), add a new code beside it.
    source = source.replace("<name>M61.20</name>", "<name>M61.2Z</name>", 1)
    # An inclusion term of M77.1 changes: its codes' searchable text follows, though no code row changes.
    source = source.replace(
        "<note>Tennis elbow</note>", "<note>Tennis elbow (lateral epicondylalgia)</note>", 1
    )
    newer = tmp_path / "newer.xml"
    newer.write_text(source, encoding="utf-8")
    # A dry run counts and names the changes, and writes nothing.
    before = snapshot()
    plan = loading.import_tabular(newer, code_list=icd10cm.default_code_list_path(), dry_run=True)
    assert snapshot() == before
    assert not plan.written and not plan.refused
    assert plan.examples["conditions_code"] == {
        "added": ["M61.2Z"],
        "changed": ["M61.2"],
        "retired": ["M61.20"],
    }
    summary = loading.import_tabular(newer, code_list=icd10cm.default_code_list_path())
    assert (summary.inserted, summary.updated, summary.deleted) == (plan.inserted, plan.updated, plan.deleted)
    assert summary.changed
    assert Code.objects.get(code="M61.2").title.endswith("(revised)")
    assert Code.objects.filter(code="M61.2Z").exists()
    assert not Code.objects.filter(code="M61.20").exists()
    assert Code.objects.get(code="M61.21").title.startswith("Paralytic calcification")
    assert summary.deleted["conditions_code"] == 1
    assert summary.inserted["conditions_code"] == 1
    assert summary.updated["conditions_note"] == 1
    assert dict(
        Code.objects.filter(code__startswith="M77.1").values_list("code", "inclusion_text")
    ) == dict.fromkeys(("M77.1", "M77.10", "M77.11", "M77.12"), "Tennis elbow (lateral epicondylalgia)")
    assert [code.code for code in Code.objects.search("epicondylalgia")[:1]] == ["M77.1"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("truncated", "not well-formed XML"),
        ("<other><x/></other>", "not a CMS ICD-10-CM tabular file"),
        ("code,title\nA00,Cholera\n", "not well-formed XML"),
    ],
)
def test_malformed_files_give_a_clear_error_and_change_nothing(tmp_path, content, message):
    before = snapshot()
    path = tmp_path / "source.xml"
    if content == "truncated":
        full = icd10cm.default_tabular_path().read_bytes()
        path.write_bytes(full[: len(full) // 2])
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        call_command("import_icd10cm", source=str(path), verbosity=0)
    assert snapshot() == before


def test_missing_file_gives_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_icd10cm", source=str(tmp_path / "nope.xml"), verbosity=0)


def test_command_prints_a_summary(capsys):
    call_command("import_icd10cm")
    out = capsys.readouterr().out
    assert "22 chapters, 297 blocks, 98186 codes (74719 billable)" in out
    assert "No changes" in out


# --- The import guard, dry run and derived state (issue 9) --------------------
def partial_release(tmp_path, chapters):
    """The official file with only the given chapters: well-formed, but a partial release."""
    text = icd10cm.default_tabular_path().read_text(encoding="utf-8")
    head, body = text[: text.index("<chapter>")], text[text.index("<chapter>") :]
    kept = [
        chapter
        for chapter in re.findall(r"<chapter>.*?</chapter>", body, re.S)
        if re.search(r"<name>(\d+)</name>", chapter).group(1) in chapters
    ]
    path = tmp_path / "partial.xml"
    path.write_text(head + "\n".join(kept) + "\n</ICD10CM.tabular>\n", encoding="utf-8")
    return path


def test_a_partial_release_is_refused_and_changes_nothing(tmp_path):
    before = snapshot()
    with pytest.raises(loading.RetireRefused) as refused:
        loading.import_tabular(partial_release(tmp_path, {"13"}))
    summary = refused.value.summary
    assert summary.codes_before == 98186
    assert summary.retired_codes == 98186 - Code.objects.filter(chapter="13").count()
    assert summary.examples["conditions_code"]["retired"] == ["A00", "A00.0", "A00.1", "A00.9", "A01"]
    assert "more than the 5% limit" in str(refused.value) and not summary.written
    assert snapshot() == before
    assert not connection.in_atomic_block or Code.objects.count() == 98186


def test_the_command_refuses_a_partial_release_and_its_dry_run_tells(tmp_path, capsys):
    path = partial_release(tmp_path, {"13"})
    with pytest.raises(CommandError, match=r"would retire 89512 of 98186 codes \(91.2%\).*--allow-retire"):
        call_command("import_icd10cm", source=str(path), code_list=str(icd10cm.default_code_list_path()))
    call_command(
        "import_icd10cm", source=str(path), dry_run=True, code_list=str(icd10cm.default_code_list_path())
    )
    out = capsys.readouterr().out
    assert "Dry run: the release holds 1 chapters, 24 blocks, 8674 codes" in out
    assert "would be retired: chapter 21, block 273, code 89512, note 23966" in out
    assert "code: A00, A00.0, A00.1, A00.9, A01, ..." in out
    assert "The import would be refused" in out
    assert Code.objects.count() == 98186


def test_an_article_survives_its_code_being_retired_and_brought_back(tmp_path, publisher):
    article = services.article_save(
        article=Article(
            code_id="U07.0",
            title="Vaping lung injury in plain words",
            summary="Lung damage linked to vaping.",
            body="Wombatoid tiredness can last for weeks.",
            author="Sam Writer",
        ),
        user=publisher,
    )
    services.article_publish(article=article, user=publisher)
    assert Code.objects.search("wombatoid").filter(code="U07.0").exists()

    # A release without chapter 22 (the last: no other code moves) retires the code;
    # the article is kept and reported.
    partial = partial_release(tmp_path, {str(n) for n in range(1, 22)})
    summary = loading.import_tabular(partial, code_list=icd10cm.default_code_list_path())
    assert summary.retired_codes == 5 and not summary.refused
    assert summary.retired_articles == [("U07.0", "Vaping lung injury in plain words", "published")]
    assert not Code.objects.filter(code="U07.0").exists()
    assert Article.objects.get(pk=article.pk).status == Article.Status.PUBLISHED
    assert not Code.objects.search("wombatoid").exists()

    # The full release brings the code back, and with it the article's search text and flag.
    summary = loading.import_tabular()
    assert summary.inserted["conditions_code"] == 5 and summary.rebuilt == 1
    row = Code.objects.get(code="U07.0")
    assert row.has_article and row.article_text.startswith("Vaping lung injury in plain words")
    assert [code.code for code in Code.objects.search("wombatoid")] == ["U07.0"]
    assert Code.objects.filter(has_article=True).count() == Article.objects.published().count()


# --- Import speed (issue 12): text staged with the rows, indexes built once ---------
def official_text_drift() -> int:
    """Code rows whose searchable text differs from what the notes tables give (rewriting them here)."""
    with connection.cursor() as cursor:
        cursor.execute(official_text_update("conditions_code", "conditions_note"))
        return cursor.rowcount


def code_table_catalog():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'conditions_code' ORDER BY indexname"
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'conditions_code'::regclass ORDER BY conname"
        )
        return indexes, cursor.fetchall()


def test_the_import_stages_the_same_searchable_text_the_notes_give():
    # The import computes each code's text on its staging tables; the same query over the
    # real tables finds nothing to change.
    assert official_text_drift() == 0
    assert Code.objects.get(code="M77.11").inclusion_text == "Tennis elbow"


def test_a_first_import_builds_the_same_indexes_and_constraints(tmp_path):
    catalog = code_table_catalog()
    assert len(catalog[0]) >= 10 and any("FOREIGN KEY (parent_id)" in d for _, d in catalog[1])
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE conditions_code CASCADE")  # rolled back with the test
    summary = loading.import_tabular(
        partial_release(tmp_path, {"22"}), code_list=icd10cm.default_code_list_path()
    )
    assert summary.codes_before == 0 and "build indexes" in summary.phases
    assert summary.inserted["conditions_code"] == 5
    assert code_table_catalog() == catalog
    assert official_text_drift() == 0
    assert Code.objects.get(code="U07.1").search_vector
    # The rebuilt foreign keys hold: a code under a parent that does not exist is refused.
    with pytest.raises(IntegrityError), transaction.atomic():
        Code.objects.create(
            code="U07.9",
            title="x",
            chapter_id="22",
            block_id="U00-U49",
            parent_id="U99",
            depth=2,
            sort_order=1,
            billable=True,
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_array_and_json_text_for_copy_round_trip():
    values = ["A00.1", 'say "x"', "back\\slash", "NULL", "", "tab\there"]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE copy_check (words text[], numbers int[], doc jsonb, empty jsonb)"
        )
        with cursor.copy("COPY copy_check FROM STDIN") as copy:
            copy.write_row(
                (
                    loading._array_text(values),
                    loading._array_text([2025, 2026]),
                    loading._json_text({"t": 'a "b" \\ c\té'}),
                    loading._json_text({}),
                )
            )
        cursor.execute("SELECT words, numbers, doc::text, empty::text FROM copy_check")
        words, numbers, doc, empty = cursor.fetchone()
    assert (words, numbers, json.loads(doc), json.loads(empty)) == (
        values,
        [2025, 2026],
        {"t": 'a "b" \\ c\té'},
        {},
    )


# --- A release already imported is not read again (issue 12) -------------------------------------
def writers(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT xmin::text FROM {table}")
        return {row[0] for row in cursor.fetchall()}


def test_an_unchanged_release_is_checked_not_imported_again():
    before = {
        table: writers(table) for table in ("conditions_code", "conditions_note", "conditions_searchword")
    }
    summary = loading.import_tabular()
    assert summary.unchanged and "read XML" not in summary.phases and not summary.changed
    assert (summary.counts["code"], summary.counts["billable"]) == (98186, 74719)
    assert {table: writers(table) for table in before} == before


@pytest.mark.parametrize(
    "damage",
    [
        "DELETE FROM conditions_note WHERE owner = 'M77.1'",
        "UPDATE conditions_code SET inclusion_text = '' WHERE code = 'M77.11'",
        "DELETE FROM conditions_searchword WHERE word = 'tennis'",
        "UPDATE conditions_block SET code_count = 0 WHERE block_id = 'M70-M79'",
    ],
)
def test_an_import_repairs_a_damaged_code_set(damage):
    before = snapshot()
    words = Code.objects.filter(code__startswith="M77.1").values_list("inclusion_text", flat=True)
    with connection.cursor() as cursor:
        cursor.execute(damage)
    summary = loading.import_tabular()
    assert not summary.unchanged and summary.written
    assert snapshot() == before
    assert set(words) == {"Tennis elbow"}
    assert [code.code for code in Code.objects.search("tennis elbow")[:1]] == ["M77.1"]
    assert Block.objects.get(block_id="M70-M79").code_count == Code.objects.filter(block="M70-M79").count()


def test_a_published_article_does_not_make_the_release_look_changed(publisher):
    article = services.article_save(
        article=Article(
            code_id="M77.1", title="Tennis elbow in plain words", summary="s", body="b", author="A"
        ),
        user=publisher,
    )
    services.article_publish(article=article, user=publisher)
    summary = loading.import_tabular()
    assert summary.unchanged and Code.objects.get(code="M77.1").has_article
