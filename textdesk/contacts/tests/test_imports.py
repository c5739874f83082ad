"""CSV imports of awkward files, on the real database."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from textdesk.compliance.models import ConsentChange
from textdesk.contacts import imports
from textdesk.contacts.models import Contact, ContactField, ContactImport, ImportRejection
from textdesk.testing import create_contact


@pytest.fixture(autouse=True)
def _imports_in_tmp(settings, tmp_path):
    settings.IMPORTS_ROOT = tmp_path / "imports"


def upload(world, content: str | bytes, name: str = "contacts.csv") -> ContactImport:
    data = content.encode() if isinstance(content, str) else content
    return imports.start_import(world.admissions, world.alice, SimpleUploadedFile(name, data))


def run(contact_import: ContactImport, mapping: dict | None = None, region: str = "US"):
    imports.set_mapping(contact_import, mapping or contact_import.mapping, region)
    while imports.import_next_batch():
        pass
    contact_import.refresh_from_db()
    return contact_import


def reasons(contact_import: ContactImport) -> dict[int, str]:
    return dict(contact_import.rejections.values_list("row_number", "reason"))


def test_an_excel_file_with_bom_semicolons_quotes_and_blank_lines_imports(world):
    content = (
        "\ufeffMobile;First Name;Last Name;Program;Tags\r\n"
        '"(617) 555-0171";Ana;"Lima; Silva";"Nursing, BSN";"fall-2027; visit"\r\n'
        "\r\n"
        '617.555.0172;"Bo ""B"" ";Chen;"Line one\nline two";\r\n'
        ";;;;\r\n"
    )
    contact_import = upload(world, content)
    assert contact_import.delimiter == ";"
    assert contact_import.header == ["Mobile", "First Name", "Last Name", "Program", "Tags"]
    assert contact_import.total_rows == 2
    assert contact_import.mapping == {
        "0": "phone",
        "1": "first_name",
        "2": "last_name",
        "3": "new:program",
        "4": "tags",
    }
    done = run(contact_import)
    assert (done.status, done.created_count, done.rejected_count) == ("done", 2, 0)
    ana = Contact.objects.get(phone="+16175550171")
    assert (ana.first_name, ana.last_name, ana.fields) == (
        "Ana",
        "Lima; Silva",
        {"program": "Nursing, BSN"},
    )
    assert sorted(ana.tags.values_list("name", flat=True)) == ["fall-2027", "visit"]
    bo = Contact.objects.get(phone="+16175550172")
    assert bo.first_name == 'Bo "B"'
    assert bo.fields == {"program": "Line one\nline two"}
    assert ContactField.objects.get(team=world.admissions, key="program").label == "Program"


BAD_NUMBERS = [
    ("", "missing phone number"),
    ("n/a", "is not a phone number"),
    ("123", "is not a valid phone number"),
    ("555-0100", "is not a valid phone number"),
    ("+1 617 555", "is not a valid phone number"),
    ("12345678901234567890", "is not a phone number"),
    ("+999 1234567", "is not a phone number"),
    ("+44 20 7946 0000", "does not look like a mobile number"),
    ("+1 900 555 0100", "does not look like a mobile number"),
    ("(617) 555-01ab", "is not a valid phone number"),
]


def test_ten_kinds_of_bad_numbers_are_rejected_with_reasons(world):
    rows = [f'"{number}",Someone{i}' for i, (number, _) in enumerate(BAD_NUMBERS)]
    contact_import = upload(world, "phone,first name\n" + "\n".join(rows) + "\n+16175550180,Good\n")
    done = run(contact_import)
    assert (done.created_count, done.rejected_count) == (1, len(BAD_NUMBERS))
    found = reasons(done)
    for row, (number, reason) in enumerate(BAD_NUMBERS, start=2):
        assert reason in found[row], (number, found[row])
    assert not Contact.objects.filter(first_name__startswith="Someone").exists()


def test_a_number_repeated_in_the_file_is_imported_once_and_the_repeat_reported(world, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)  # so that repeats span batches too
    content = "phone,first\n6175550181,A\n(617) 555-0181,B\n6175550182,C\n+16175550181,D\n"
    done = run(upload(world, content))
    assert (done.created_count, done.rejected_count) == (2, 2)
    assert Contact.objects.get(phone="+16175550181").first_name == "A"
    found = reasons(done)
    assert "row 2" in found[3]
    assert "duplicate in the file" in found[5]


def test_existing_contacts_are_updated_by_number_and_keep_what_the_file_leaves_out(world):
    existing = create_contact(world.admissions, "+16175550183", first_name="Old", last_name="Name")
    existing.fields = {"student_id": "S1", "term": "Fall"}
    existing.save()
    ContactField.objects.create(team=world.admissions, key="term", label="Term")
    done = run(upload(world, "phone,first name,term\n617-555-0183,New,Spring\n"))
    assert (done.created_count, done.updated_count) == (0, 1)
    existing.refresh_from_db()
    assert (existing.first_name, existing.last_name) == ("New", "Name")
    assert existing.fields == {"student_id": "S1", "term": "Spring"}


def test_the_opted_out_column_sets_consent_but_never_opts_anyone_back_in(world):
    gone = create_contact(world.admissions, "+16175550184")
    gone.consent = Contact.Consent.OPTED_OUT
    gone.save()
    content = "phone,OptedOut\n6175550184,no\n6175550185,Yes\n6175550186,0\n6175550187,maybe\n"
    done = run(upload(world, content))
    assert Contact.objects.get(phone="+16175550184").is_opted_out  # stays out
    assert Contact.objects.get(phone="+16175550185").is_opted_out
    assert not Contact.objects.get(phone="+16175550186").is_opted_out
    assert "opted out must be yes or no" in reasons(done)[5]
    # Recorded in the opt-out history, once, with the import as its cause.
    change = ConsentChange.objects.get()
    assert (change.phone, change.cause, change.opted_out, change.team) == (
        "+16175550185",
        "import",
        True,
        world.admissions,
    )
    assert change.detail.startswith("Import of ")


def test_very_long_fields_are_rejected_not_cut(world):
    long_name = "A" * 101
    long_value = "x" * (imports.MAX_VALUE_LENGTH + 1)
    content = f"phone,first name,notes\n6175550188,{long_name},ok\n6175550189,Bo,{long_value}\n"
    done = run(upload(world, content))
    assert done.rejected_count == 2
    assert "longer than 100" in reasons(done)[2]
    assert "longer than 1000" in reasons(done)[3]


def test_owners_and_time_zones_are_checked(world):
    content = (
        "phone,owner,time zone\n"
        "6175550190,bob,America/Chicago\n"
        "6175550191,charlie,\n"  # not in the team
        "6175550192,,Mars/Olympus\n"
    )
    done = run(upload(world, content))
    contact = Contact.objects.get(phone="+16175550190")
    assert (contact.owner, contact.time_zone) == (world.bob, "America/Chicago")
    assert "no team member" in reasons(done)[3]
    assert "is not a time zone" in reasons(done)[4]


def test_a_default_country_applies_to_numbers_without_a_code(world):
    done = run(upload(world, "phone\n07700 900123\n020 7946 0000\n"), region="GB")
    assert done.rejected_count == 2  # one fictional mobile range, one landline
    done = run(upload(world, "phone\n07911 123456\n"), region="GB")
    assert Contact.objects.filter(phone="+447911123456").exists()


def test_a_file_that_is_not_utf8_is_refused_clearly(world):
    with pytest.raises(imports.ImportRefused, match="not UTF-8"):
        upload(world, "phone,name\n6175550193,Jos\xe9\n".encode("latin-1"))
    assert not ContactImport.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "empty"), ("\n\n", "empty"), ("phone,name\n", "no rows"), ("\x00\x01", "not a CSV")],
)
def test_empty_and_odd_files_are_refused_clearly(world, content, message):
    with pytest.raises(imports.ImportRefused, match=message):
        upload(world, content)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"0": "first_name", "1": "last_name"}, "phone number"),
        ({"0": "phone", "1": "phone"}, "Two columns"),
        ({"0": "phone", "1": "new:first_name"}, "cannot be a field name"),
        ({"0": "phone", "1": "custom:nope"}, "no custom field"),
        ({"0": "phone", "1": "bogus"}, "Unknown choice"),
    ],
)
def test_a_mapping_that_cannot_work_is_refused_and_nothing_starts(world, mapping, message):
    contact_import = upload(world, "a,b\n6175550194,x\n")
    with pytest.raises(imports.ImportRefused, match=message):
        imports.set_mapping(contact_import, mapping, "US")
    contact_import.refresh_from_db()
    assert contact_import.status == "uploaded"
    assert not ContactField.objects.exists()


def test_a_failure_mid_import_stops_cleanly_and_resuming_finishes_without_repeats(
    world, monkeypatch
):
    monkeypatch.setattr(imports, "BATCH_SIZE", 3)
    rows = "\n".join(f"61755502{n:02d},P{n}" for n in range(10))
    contact_import = upload(world, "phone,first\n" + rows + "\n6175550200,again\n")
    imports.set_mapping(contact_import, contact_import.mapping, "US")
    real_upsert, calls = imports._upsert, []

    def fail_on_the_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_upsert(*args, **kwargs)

    monkeypatch.setattr(imports, "_upsert", fail_on_the_second_batch)
    with pytest.raises(RuntimeError):
        imports.import_next_batch()  # the first batch goes in, the second fails
    contact_import.refresh_from_db()
    assert contact_import.status == "failed"
    assert "disk full" in contact_import.error
    assert contact_import.rows_done == 3  # the first batch, and only it, is in
    assert Contact.objects.count() == 3
    assert ImportRejection.objects.count() == 0

    imports.resume(contact_import)
    while imports.import_next_batch():
        pass
    contact_import.refresh_from_db()
    assert (contact_import.status, contact_import.rows_done) == ("done", 11)
    assert (contact_import.created_count, contact_import.rejected_count) == (10, 1)
    assert Contact.objects.count() == 10


def test_two_workers_never_import_the_same_batch(world):
    contact_import = upload(world, "phone\n6175550195\n")
    imports.set_mapping(contact_import, contact_import.mapping, "US")
    ContactImport.objects.filter(pk=contact_import.pk).update(
        claimed_until=contact_import.created_at.replace(year=2100)
    )
    assert imports.import_next_batch() == 0  # someone else holds it
    assert not Contact.objects.exists()


def test_the_report_lists_every_rejected_row_with_its_reason(world, client):
    done = run(upload(world, "phone,name\nnope,Ann\n6175550196,Ok\n,Blank\n"))
    client.force_login(world.bob)
    response = client.get(f"/teams/{world.admissions.pk}/imports/{done.pk}/rejected.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["row", "reason", "phone", "name"]
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [("2", "nope", "Ann"), ("4", "", "Blank")]
    assert "missing phone number" in rows[2][1]


def test_the_pages_walk_through_upload_mapping_and_progress(world, client):
    client.force_login(world.bob)
    team = world.admissions.pk
    file = SimpleUploadedFile("list.csv", b"Cell Phone,First\n6175550197,Kim\n")
    response = client.post(f"/teams/{team}/imports/new/", {"file": file})
    contact_import = ContactImport.objects.get()
    assert response["Location"] == f"/teams/{team}/imports/{contact_import.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "6175550197" in page  # the preview
    response = client.post(
        f"/teams/{team}/imports/{contact_import.pk}/",
        {"column_0": "phone", "column_1": "first_name", "region": "US"},
    )
    assert response.status_code == 302
    while imports.import_next_batch():
        pass
    page = client.get(f"/teams/{team}/imports/{contact_import.pk}/").content.decode()
    assert "Imported" in page
    assert Contact.objects.get(phone="+16175550197").first_name == "Kim"


def test_a_100000_row_file_imports_completely(world):
    """Generated here: 100,000 rows with some bad numbers and repeats among them."""
    lines = ["phone,first name,last name,student id,tags"]
    for n in range(100_000):
        if n % 1000 == 999:
            lines.append(f"bad-{n},Bad,Row,{n},x")
        else:
            lines.append(f"+1617{2000000 + n:07d},First{n},Last{n},S{n},fall")
    lines.append("+16172000000,Again,Row,0,x")  # the first number once more
    done = run(upload(world, "\n".join(lines) + "\n"))
    assert done.status == "done"
    assert done.rows_done == 100_001
    assert (done.created_count, done.rejected_count) == (99_900, 101)
    assert Contact.objects.filter(team=world.admissions).count() == 99_900
    assert done.contacts.count() == 99_900
    sample = Contact.objects.get(phone="+16172054321")
    assert (sample.first_name, sample.fields) == ("First54321", {"student_id": "S54321"})


def test_a_number_erased_after_opting_out_comes_back_opted_out(world):
    from textdesk.compliance.stewardship import erase_contact

    gone = create_contact(world.admissions, "+16175550184")
    gone.consent = Contact.Consent.OPTED_OUT
    gone.save()
    erase_contact(world.alice, gone)
    run(upload(world, "phone,first_name\n6175550184,Back\n6175550185,New\n"))
    assert Contact.objects.get(phone="+16175550184").is_opted_out
    assert not Contact.objects.get(phone="+16175550185").is_opted_out
    assert ConsentChange.objects.get(phone="+16175550184").cause == "erased"
