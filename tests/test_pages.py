"""Public pages answer for every level of the tree, through Django's full request cycle."""

import pytest

pytestmark = pytest.mark.django_db


def test_home_lists_the_22_chapters(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('href="/chapters/') == 22
    assert "Diseases of the musculoskeletal system and connective tissue" in html


def test_chapter_page_lists_its_blocks(client):
    response = client.get("/chapters/13/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="/blocks/M60-M63/"' in html
    assert "Soft tissue disorders" not in html or "Disorders of muscles" in html


def test_block_page_lists_its_categories(client):
    html = client.get("/blocks/M60-M63/").content.decode()
    assert 'href="/codes/M61/"' in html
    assert "Calcification and ossification of muscle" in html


def test_category_page(client):
    response = client.get("/codes/M61/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Calcification and ossification of muscle" in html
    assert 'href="/codes/M61.2/"' in html
    assert "Not billable" in html


def test_billable_code_page(client):
    html = client.get("/codes/M61.20/").content.decode()
    assert "Paralytic calcification and ossification of muscle, unspecified site" in html
    assert "Billable: use this code" in html
    assert 'href="/codes/M61.2/"' in html  # breadcrumb to its parent


def test_seventh_character_code_page(client):
    response = client.get("/codes/W21.89XA/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "initial encounter" in html
    assert "Billable: use this code" in html
    assert 'href="/codes/W21.89/"' in html


@pytest.mark.parametrize("path", ["/codes/Z99.999/", "/codes/%00/", "/codes/" + "A" * 500 + "/", "/chapters/99/", "/blocks/nope/", "/codes/%E2%9C%93/"])
def test_unknown_entries_give_a_404_page(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
