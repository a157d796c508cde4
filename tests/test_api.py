"""The JSON API serializes the code page's own data: what the page shows, the API gives."""

import pytest

pytestmark = pytest.mark.django_db


def test_api_code_gives_inherited_notes_with_their_level(client):
    data = client.get("/api/codes/S72.001A").json()
    assert data["code"] == "S72.001A"
    assert [p["code"] for p in data["parents"]] == ["S72", "S72.0", "S72.00", "S72.001"]
    assert data["notes"], "notes of the category, block and chapter apply to S72.001A"
    excludes2 = next(group for group in data["note_sources"] if group["kind"] == "excludes2")
    levels = [source["level"] for source in excludes2["sources"]]
    assert "category" in levels and levels == sorted(
        levels, key=["self", "code", "category", "block", "chapter"].index
    )
    category = next(source for source in excludes2["sources"] if source["level"] == "category")
    assert category["owner"] == "S72" and category["url"] == "/codes/S72/"


def test_api_code_gives_the_seventh_character_table(client):
    seventh = client.get("/api/codes/S72.001A").json()["seventh_characters"]
    assert seventh["defined_at"] == "S72" and seventh["this_code"] == "A"
    assert len(seventh["characters"]) == 16
    assert seventh["characters"][0] == {"character": "A", "meaning": "initial encounter for closed fracture"}
    assert client.get("/api/codes/M61.2").json()["seventh_characters"] is None


def test_api_code_and_page_show_the_same_notes(client):
    import re

    html = client.get("/codes/E11.9/").content.decode()
    data = client.get("/api/codes/E11.9").json()
    for group in data["note_sources"]:
        section = re.search(rf"note-group--{group['kind']}.*?</section>", html, re.S).group(0)
        assert section.count("<li>") == sum(len(source["notes"]) for source in group["sources"])
