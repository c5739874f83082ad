"""The contact pages that run on JavaScript, in real Chromium: the segment editor's live count,
an import's live progress, and the template editor's preview and fix."""

import pytest
from playwright.sync_api import expect

from textdesk.contacts.models import Contact, Segment, Tag
from textdesk.testing import PASSWORD, create_contact, create_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base_url: str, username: str = "bob") -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_the_segment_editor_counts_as_you_build_and_saves(page, asgi_live_server):
    world = create_world()
    visit = Tag.objects.create(team=world.admissions, name="visit")
    for n in range(5):
        contact = create_contact(world.admissions, f"+161755501{n:02d}", last_name=f"L{n}")
        if n < 3:
            contact.tags.add(visit)
    sign_in(page, asgi_live_server)
    page.goto(f"{asgi_live_server}/teams/{world.admissions.pk}/segments/new/")
    expect(page.locator(".segment-count")).to_contain_text("5 contacts")  # no condition yet
    page.get_by_role("button", name="Add a condition").click()
    page.get_by_label("Field").select_option(label="Tag")
    page.get_by_label("Comparison").select_option("has")
    page.get_by_label("Tag", exact=True).select_option("visit")
    expect(page.locator(".segment-count")).to_contain_text("3 contacts")
    page.get_by_role("button", name="Add a condition").click()
    second = page.locator(".condition").nth(1)
    second.get_by_label("Field").select_option(label="Last name")
    second.get_by_label("Comparison").select_option("equals")
    second.get_by_label("Value").fill("L1")
    expect(page.locator(".segment-count")).to_contain_text("1 contact")
    page.get_by_label("Match").select_option("any")
    expect(page.locator(".segment-count")).to_contain_text("3 contacts")
    page.get_by_label("Name").fill("Visitors or L1")
    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_role("heading", name="Segments")).to_be_visible()
    segment = Segment.objects.get(name="Visitors or L1")
    assert segment.definition["match"] == "any"
    assert len(segment.definition["conditions"]) == 2


def test_an_import_shows_its_progress_live_and_finishes(
    page, asgi_live_server, running_worker, tmp_path
):
    world = create_world()
    csv_file = tmp_path / "students.csv"
    rows = ["Mobile,First Name,Term"] + [f"+1617300{n:04d},Student{n},Fall" for n in range(300)]
    rows.append("not-a-number,Broken,Fall")
    csv_file.write_text("\n".join(rows) + "\n")
    sign_in(page, asgi_live_server)
    page.goto(f"{asgi_live_server}/teams/{world.admissions.pk}/imports/new/")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_role("heading", name="What does each column hold?")).to_be_visible()
    expect(page.locator("table.mapping")).to_contain_text("+16173000000")  # the preview
    page.get_by_role("button", name="Import 301 rows").click()
    progress = page.locator("#import-progress")
    expect(progress).to_contain_text("Imported", timeout=20_000)  # updated live, no reload
    expect(progress).to_contain_text("300 added")
    expect(progress).to_contain_text("1 rejected")
    expect(progress).to_contain_text("not a phone number")
    assert Contact.objects.filter(team=world.admissions).count() == 300


def test_the_template_editor_previews_and_fixes_ucs2_culprits(page, asgi_live_server):
    world = create_world()
    create_contact(world.admissions, "+16175550101", first_name="Ada")
    sign_in(page, asgi_live_server)
    page.goto(f"{asgi_live_server}/teams/{world.admissions.pk}/templates/new/")
    page.get_by_label("Name").fill("Welcome")
    page.locator("#template-body").fill("Hi {first_name|there} \u2014 it\u2019s your day!")
    preview = page.locator("#template-preview")
    expect(preview).to_contain_text("Hi there")
    expect(preview).to_contain_text("UCS-2")
    page.get_by_label("Preview for").select_option(label="Ada")
    expect(preview).to_contain_text("Hi Ada")
    preview.locator(".replace-culprits").click()
    expect(page.locator("#template-body")).to_have_value("Hi {first_name|there} - it's your day!")
    expect(preview).to_contain_text("GSM-7")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_role("heading", name="Templates")).to_be_visible()
