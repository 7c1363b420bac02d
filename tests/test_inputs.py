"""The input contract: validation messages and loading."""

import pandas as pd
import pytest
from cxreport.inputs import SURVEY, InputError, load_survey, read_raw, validate

HEADER = "respondent_id,survey_year,csat,nps,tp_support,contact_email,comment_value,unknown_extra\n"


def write(tmp_path, body, header=HEADER):
    p = tmp_path / "survey_responses.csv"
    p.write_text(header + body, encoding="utf-8")
    return p


def messages(path):
    with pytest.raises(InputError) as err:
        load_survey(path)
    return err.value.messages


def test_valid_file_loads_typed_without_personal_data(tmp_path):
    p = write(tmp_path, " r1 ,2020,5,10,4,a@b.example.com,Mail c@d.example.com,x\nr2,2020,,7,,,,\n")
    df = load_survey(p)
    assert list(df["respondent_id"]) == ["r1", "r2"]  # whitespace trimmed
    assert str(df["csat"].dtype) == "Int64" and pd.isna(df.loc[1, "csat"])
    assert "contact_email" not in df.columns and "unknown_extra" not in df.columns
    assert df.loc[0, "comment_value"] == "Mail [e-mail removed]"
    assert "contact_email" in load_survey(p, keep_personal=True).columns


def test_out_of_range_nps_names_file_row_column_and_expectation(tmp_path):
    p = write(tmp_path, "r1,2020,5,10,4,,,\nr2,2020,4,11,4,,,\n")
    assert messages(p) == ["survey_responses.csv row 2 (line 3), column nps: '11'; expected an integer 0-10 or blank"]


def test_every_problem_is_reported_once(tmp_path):
    p = write(tmp_path, "r1,2020,abc,4.5,6,,,\n,20x0,3,3,3,,,\nr1,2020,4,4,4,,,\n")
    msgs = messages(p)
    assert "survey_responses.csv row 1 (line 2), column csat: 'abc'; expected an integer 1-5 or blank" in msgs
    assert "survey_responses.csv row 1 (line 2), column nps: '4.5'; expected an integer 0-10 or blank" in msgs
    assert "survey_responses.csv row 1 (line 2), column tp_support: '6'; expected an integer 1-5 or blank" in msgs
    assert "survey_responses.csv row 2 (line 3), column respondent_id: blank; expected text, not blank" in msgs
    assert "survey_responses.csv row 2 (line 3), column survey_year: '20x0'; expected an integer 1900-2999" in msgs
    dupes = [m for m in msgs if "appears more than once" in m]
    assert len(dupes) == 2 and "respondent_id='r1'" in dupes[0]
    assert len(msgs) == 7


def test_missing_required_column(tmp_path):
    p = write(tmp_path, "r1,2020,5\n", header="respondent_id,survey_year,csat\n")
    assert messages(p) == ["survey_responses.csv: column 'nps' is missing; expected a column of an integer 0-10 or blank"]


def test_missing_and_empty_files(tmp_path):
    assert "file not found" in messages(tmp_path / "survey_responses.csv")[0]
    (tmp_path / "survey_responses.csv").write_text("", encoding="utf-8")
    assert "empty" in messages(tmp_path / "survey_responses.csv")[0]


def test_same_respondent_in_two_years_is_fine(tmp_path):
    p = write(tmp_path, "r1,2019,5,10,4,,,\nr1,2020,5,10,4,,,\n")
    assert len(load_survey(p)) == 2


def test_validate_on_frame_directly():
    raw = pd.DataFrame({"respondent_id": ["a"], "survey_year": ["2020"], "csat": ["0"], "nps": [None]}, dtype=object)
    with pytest.raises(InputError, match="column csat: '0'; expected an integer 1-5 or blank"):
        validate(raw, SURVEY)


def test_read_raw_trims_headers(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text(" a , b\n 1 ,\n", encoding="utf-8")
    raw = read_raw(p)
    assert list(raw.columns) == ["a", "b"] and raw.loc[0, "a"] == "1" and pd.isna(raw.loc[0, "b"])
