"""Friendly input (issue 11, point 4): the files analysts have, read as they are, with messages that name the cause.

Semicolon- and tab-separated files, Windows-1252 and UTF-8-with-BOM text, ``.xlsx`` workbooks under the
CSV's contract; an Excel workbook or UTF-16 text saved as ``.csv`` named as such; the physical line of
rows after multi-line quoted fields; "did you mean ...?" for misspelt columns; ``cxreport validate``
running the cross-file checks.
"""

import csv
import datetime as dt
import io
import subprocess
import sys
import warnings

import openpyxl
import pandas as pd
import pytest
from conftest import ROOT
from cxreport.inputs import (
    CONTRACTS,
    READ_ATTR,
    REVENUE,
    SURVEY,
    InputError,
    InputWarning,
    ReadInfo,
    check_references,
    detect_delimiter,
    fingerprint,
    input_path,
    load,
    load_survey,
    read_info,
    read_raw,
    validate,
)

ROWS = [
    ["respondent_id", "survey_year", "csat", "nps", "tenure_years", "comment_value"],
    ["r1", "2020", "5", "10", "2.5", "Schnelle Hilfe von Herrn Müller, 5 €"],
    ["r2", "2020", "4", "9", "", "gut"],
    ["r3", "2020", "3", "6", "0.5", ""],
]


def write_csv(path, rows=ROWS, sep=",", encoding="utf-8"):
    """Rows written as Excel writes them: CRLF line ends, values holding the delimiter in double quotes."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def errors(path, contract=SURVEY):
    with pytest.raises(InputError) as err:
        load(path, contract)
    return err.value.messages


def load_quietly(path, contract=SURVEY):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = load(path, contract)
    return df, [str(w.message) for w in caught if issubclass(w.category, InputWarning)]


@pytest.mark.parametrize("sep,name", [(";", "semicolon"), ("\t", "tab")])
def test_semicolon_and_tab_files_load_like_the_comma_file(tmp_path, sep, name):
    comma = load(write_csv(tmp_path / "survey_responses.csv"), SURVEY)
    (tmp_path / "other").mkdir()
    path = write_csv(tmp_path / "other" / "survey_responses.csv", sep=sep)
    df, warned = load_quietly(path)
    pd.testing.assert_frame_equal(df, comma, check_flags=False)
    assert warned == []
    info = df.attrs[READ_ATTR]
    assert (info.delimiter, info.encoding) == (sep, "utf-8")
    assert info.describe().startswith(name)
    assert fingerprint(path)["delimiter"] == sep and fingerprint(path)["encoding"] == "utf-8"
    assert read_info(path) == info


def test_delimiter_is_the_one_that_splits_the_header_into_contract_columns():
    assert detect_delimiter("respondent_id;survey_year;csat,nps;nps", SURVEY) == ";"
    assert detect_delimiter("respondent_id,survey_year,csat;x", SURVEY) == ","
    assert detect_delimiter("a\tb\tc") == "\t"
    assert detect_delimiter("single") == ","


def test_windows_1252_file_is_read_with_a_warning_and_recorded(tmp_path):
    path = write_csv(tmp_path / "survey_responses.csv", sep=";", encoding="cp1252")
    df, warned = load_quietly(path)
    assert df.loc[0, "comment_value"] == "Schnelle Hilfe von Herrn Müller, 5 €"
    assert len(warned) == 1 and "not UTF-8" in warned[0] and "Windows-1252" in warned[0]
    info = df.attrs[READ_ATTR]
    assert (info.delimiter, info.encoding) == (";", "cp1252") and info.warnings == (warned[0],)
    assert info.provenance() == {"format": "csv", "delimiter": ";", "encoding": "cp1252", "warnings": warned}
    assert fingerprint(path)["encoding"] == "cp1252"
    with pytest.warns(InputWarning, match="Windows-1252"):
        assert read_raw(path).loc[0, "comment_value"].endswith("Müller, 5 €")


def test_a_windows_1252_byte_far_into_a_utf8_looking_file_is_found(tmp_path):
    rows = ROWS[:1] + [[f"r{i}", "2020", "5", "10", "1", "ok"] for i in range(5000)] + [["rx", "2020", "5", "10", "1", "Müller"]]
    path = write_csv(tmp_path / "survey_responses.csv", rows=rows, encoding="cp1252")
    assert path.stat().st_size > 65536  # beyond what the encoding is sniffed from
    assert fingerprint(path)["encoding"] == "cp1252" and read_info(path).encoding == "cp1252"
    df, warned = load_quietly(path)
    assert df["comment_value"].iloc[-1] == "Müller" and len(warned) == 1
    assert df.attrs[READ_ATTR].encoding == "cp1252"


def test_utf8_bom_is_read_and_recorded(tmp_path):
    path = write_csv(tmp_path / "survey_responses.csv", encoding="utf-8-sig")
    df, warned = load_quietly(path)
    assert df.columns[0] == "respondent_id" and warned == []
    assert df.loc[0, "comment_value"].endswith("Müller, 5 €")
    assert df.attrs[READ_ATTR].encoding == "utf-8-sig" and fingerprint(path)["encoding"] == "utf-8-sig"


def survey_workbook(path, nps_row4=9):
    """A workbook as Excel users make it: numbers as numbers, a date cell, a title-less first sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Responses"
    ws.append(["respondent_id", "survey_year", "submitted_at", "csat", "nps", "tenure_years", "comment_value"])
    ws.append(["r1", 2020, dt.datetime(2020, 3, 1), 5, 10, 2.5, "fast"])
    ws.append(["r2", 2020.0, dt.datetime(2020, 3, 2), 4, 9.0, None, None])
    ws.append([])  # a blank row in the middle is skipped, yet the sheet rows stay right
    ws.append(["r3", 2020, "2020-03-04", 3, nps_row4, 1, "ok"])
    ws.append(["r4", 2020, dt.date(2020, 3, 5), None, 7, 0, "=not a formula"])
    wb.create_sheet("Notes").append(["ignored"])
    wb.save(path)
    return path


def test_xlsx_first_sheet_under_the_csv_contract(tmp_path):
    path = survey_workbook(tmp_path / "survey_responses.xlsx")
    df = load(path, CONTRACTS["survey_responses.csv"])
    assert list(df["respondent_id"]) == ["r1", "r2", "r3", "r4"]
    assert list(df["survey_year"]) == [2020] * 4 and str(df["nps"].dtype) == "Int64"
    assert list(df["submitted_at"].dt.strftime("%Y-%m-%d")) == ["2020-03-01", "2020-03-02", "2020-03-04", "2020-03-05"]
    assert pd.isna(df.loc[3, "csat"]) and df.loc[0, "tenure_years"] == 2.5
    raw = read_raw(path)
    assert list(raw["survey_year"]) == ["2020"] * 4  # integers without ".0", as the CSV holds them
    assert raw.loc[0, "submitted_at"] == "2020-03-01"
    info = df.attrs[READ_ATTR]
    assert (info.format, info.sheet, info.delimiter, info.encoding) == ("xlsx", "Responses", None, None)
    fp = fingerprint(path)
    assert fp["sheet"] == "Responses" and "delimiter" not in fp
    assert load_survey(path)["comment_value"].tolist()[0] == "fast"


def test_xlsx_messages_name_row_and_sheet_row(tmp_path):
    path = survey_workbook(tmp_path / "survey_responses.xlsx", nps_row4=11)
    assert errors(path) == ["survey_responses.xlsx row 3 (sheet row 5), column nps: '11'; expected an integer 0-10 or blank"]


def test_xlsx_month_cells_read_as_months(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["customer_id", "month", "revenue_type", "amount"])
    ws.append(["C1", dt.datetime(2020, 1, 1), "subscription", 100])
    ws.append(["C1", "2020-02", "subscription", 100.5])
    wb.save(tmp_path / "revenue.xlsx")
    df = load(tmp_path / "revenue.xlsx", REVENUE)
    assert list(df["month"].astype(str)) == ["2020-01", "2020-02"] and list(df["amount"]) == [100.0, 100.5]


def test_input_path_prefers_the_csv_then_the_workbook(tmp_path):
    assert input_path(tmp_path, "survey_responses.csv") is None
    survey_workbook(tmp_path / "survey_responses.xlsx")
    assert input_path(tmp_path, "survey_responses.csv") == tmp_path / "survey_responses.xlsx"
    write_csv(tmp_path / "survey_responses.csv")
    assert input_path(tmp_path, "survey_responses.csv") == tmp_path / "survey_responses.csv"


def test_workbook_renamed_csv_is_named_as_a_workbook(tmp_path):
    path = tmp_path / "survey_responses.csv"
    survey_workbook(tmp_path / "book.xlsx").rename(path)
    [msg] = errors(path)
    assert msg.startswith("survey_responses.csv: this is an Excel workbook (.xlsx)")
    assert "survey_responses.xlsx" in msg
    with pytest.raises(InputError, match="this is an Excel workbook"):
        read_raw(path)


def test_csv_renamed_xlsx_and_old_xls_and_utf16_are_named(tmp_path):
    text = write_csv(tmp_path / "survey_responses.xlsx")
    assert "not an Excel workbook" in errors(text)[0]
    xls = tmp_path / "xls" / "survey_responses.csv"
    xls.parent.mkdir()
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert "Excel 97-2003 workbook (.xls)" in errors(xls)[0]
    for encoding in ("utf-16", "utf-16-le"):
        utf16 = write_csv(tmp_path / "survey_responses.csv", sep="\t", encoding=encoding)
        [msg] = errors(utf16)
        assert "UTF-16" in msg and "CSV UTF-8" in msg


def test_multiline_quoted_comment_then_bad_value_names_the_physical_line(tmp_path):
    path = tmp_path / "survey_responses.csv"
    path.write_text(
        "respondent_id,survey_year,csat,nps,comment_value\n"  # line 1
        'r1,2020,5,10,"first line\nsecond line\nthird line"\n'  # lines 2-4
        "\n"  # line 5: blank, skipped
        'r2,2020,4,9,"a\r\nb"\n'  # lines 6-7
        "r3,2020,4,11,\n",  # line 8: the bad value
        encoding="utf-8",
    )
    assert errors(path) == ["survey_responses.csv row 3 (line 8), column nps: '11'; expected an integer 0-10 or blank"]


def test_cross_file_messages_use_the_physical_line_too(tmp_path):
    (tmp_path / "accounts.csv").write_text("customer_id,name\nC1,A\n", encoding="utf-8")
    (tmp_path / "maturity_assessments.csv").write_text(
        'customer_id,assessed_on,m_strategy,target_stage\nC1,2020-01-01,3,"4"\nC1,2020-02-01,3,\n'
        'C2,2020-03-01,"3",\n', encoding="utf-8")
    frames = {name: load(tmp_path / name, CONTRACTS[name]) for name in ("accounts.csv", "maturity_assessments.csv")}
    assert check_references(frames) == [
        "maturity_assessments.csv row 3 (line 4), column customer_id: 'C2'; expected a customer_id listed in accounts.csv"]
    (tmp_path / "maturity_assessments.csv").write_text(
        'customer_id,assessed_on,m_strategy,target_stage\n"C1",2020-01-01,3,"4\n"\nC2,2020-03-01,3,\n', encoding="utf-8")
    frames["maturity_assessments.csv"] = load(tmp_path / "maturity_assessments.csv", CONTRACTS["maturity_assessments.csv"])
    assert check_references(frames) == [
        "maturity_assessments.csv row 2 (line 4), column customer_id: 'C2'; expected a customer_id listed in accounts.csv"]


def test_row_with_more_values_than_the_header_names_its_line(tmp_path):
    path = tmp_path / "survey_responses.csv"
    path.write_text('respondent_id,survey_year,csat,nps\nr1,2020,5,"x\ny"\nr2,2020,4,7,5\n', encoding="utf-8")
    [msg] = errors(path)
    assert msg.startswith("survey_responses.csv row 2 (line 4): 5 values but the header has 4 columns")


@pytest.mark.parametrize("body", ["r1,2020,5,10,great, fast support\nr2,2020,4,9,ok\n",  # the first row: pandas took an index
                                  "r1,2020,5,10,ok\nr2,2020,4,9,great, fast support\n"])  # a later row: its end was dropped
def test_an_unquoted_delimiter_in_a_value_is_an_error_not_a_lost_value(tmp_path, body):
    path = tmp_path / "survey_responses.csv"
    path.write_text("respondent_id,survey_year,csat,nps,comment_value\n" + body, encoding="utf-8")
    [msg] = errors(path)
    row = 1 if body.startswith("r1,2020,5,10,great") else 2
    assert msg == (f"survey_responses.csv row {row} (line {row + 1}): 6 values but the header has 5 columns; "
                   "a comma inside a value must be in double quotes")


def test_misspelt_optional_column_warns_and_the_run_goes_on(tmp_path):
    rows = [["respondent_id", "survey_year", "csat", "nps", "tenure_yrs", "comment_values", "Customer_ID ", "unknown_extra"],
            ["r1", "2020", "5", "10", "2", "great", "C1", "x"]]
    path = write_csv(tmp_path / "survey_responses.csv", rows=rows)
    df, warned = load_quietly(path)
    assert len(df) == 1 and "tenure_years" not in df.columns
    assert "survey_responses.csv: column 'tenure_yrs' is not in the contract of survey_responses.csv; " \
           "did you mean 'tenure_years'? The column is ignored" in warned
    assert any("'comment_values'" in w and "did you mean 'comment_value'?" in w for w in warned)
    assert any("'Customer_ID'" in w and "did you mean 'customer_id'?" in w for w in warned)
    assert len(warned) == 3  # unknown_extra is like no contract column: ignored in silence, as before
    assert df.attrs[READ_ATTR].warnings == tuple(warned)
    with pytest.warns(InputWarning) as record:
        load(path, SURVEY)
    assert [str(w.message) for w in record] == warned


def test_no_warning_when_the_right_column_is_there_too_and_none_on_the_sample(tmp_path):
    rows = [["respondent_id", "survey_year", "csat", "nps", "comment_value", "comment_values"], ["r1", "2020", "5", "10", "a", "b"]]
    assert load_quietly(write_csv(tmp_path / "survey_responses.csv", rows=rows))[1] == []
    for path in sorted((ROOT / "data" / "sample").glob("*.csv")):
        assert load_quietly(path, CONTRACTS[path.name])[1] == [], path.name


def test_misspelt_required_column_fails_with_did_you_mean(tmp_path):
    rows = [["respondent_id", "survey_year", "csat", "NPS "], ["r1", "2020", "5", "10"]]
    msgs = errors(write_csv(tmp_path / "survey_responses.csv", rows=rows))
    assert msgs == [("survey_responses.csv: column 'nps' is missing; expected a column of an integer 0-10 or blank; "
                     "the file has a column 'NPS': did you mean 'nps'?")]


def test_a_header_that_still_holds_semicolons_says_so():
    raw = pd.DataFrame({"respondent_id;survey_year;csat;nps": ["r1;2020;5;10"]}, dtype=object)
    with pytest.raises(InputError) as err:
        validate(raw, SURVEY)
    assert all(m.endswith("; the file looks semicolon-separated") for m in err.value.messages)


def test_readinfo_in_attrs_costs_no_copy():
    info = ReadInfo(";", "cp1252")
    import copy

    assert copy.deepcopy(info) is info


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "cxreport.cli", "validate", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300, check=False)


def test_validate_runs_the_cross_file_checks_with_accounts_beside(tmp_path):
    (tmp_path / "accounts.csv").write_text("customer_id;name\nC1;Alpha\nC2;Beta\n", encoding="utf-8")
    (tmp_path / "revenue.csv").write_text(
        "customer_id,month,revenue_type,amount\nC1,2020-01,subscription,10\nC9,2020-01,subscription,5\n", encoding="utf-8")
    proc = cli(tmp_path / "revenue.csv")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "revenue.csv row 2 (line 3), column customer_id: 'C9'; expected a customer_id listed in accounts.csv" in proc.stderr
    assert "accounts.csv: 2 rows, valid (semicolon-separated, UTF-8, read for the cross-file checks)" in proc.stdout
    (tmp_path / "revenue.csv").write_text(
        "customer_id,month,revenue_type,amount\nC1,2020-01,subscription,10\n", encoding="utf-8")
    proc = cli(tmp_path / "revenue.csv", tmp_path / "accounts.csv")
    assert proc.returncode == 0, proc.stderr
    assert "revenue.csv: 1 rows, valid (comma-separated, UTF-8)" in proc.stdout


def test_validate_reports_warnings_and_reads_workbooks(tmp_path):
    survey_workbook(tmp_path / "survey_responses.xlsx")
    rows = [["customer_id", "Name", "partner_idd"], ["C1", "A", "P1"]]
    write_csv(tmp_path / "accounts.csv", rows=rows, encoding="cp1252")
    proc = cli(tmp_path / "survey_responses.xlsx", tmp_path / "accounts.csv")
    assert proc.returncode == 0, proc.stderr
    assert "survey_responses.xlsx: 4 rows, valid (Excel workbook, sheet 'Responses')" in proc.stdout
    assert "warning: accounts.csv: column 'Name' is not in the contract of accounts.csv; did you mean 'name'?" in proc.stderr
    assert "did you mean 'partner_id'?" in proc.stderr
    proc = cli(tmp_path / "nothing.txt")
    assert proc.returncode == 2 and "no input contract" in proc.stderr


@pytest.mark.parametrize("kind", ["semicolon-cp1252", "xlsx"])
def test_contact_data_is_masked_in_comments_whatever_the_format(tmp_path, kind):
    rows = [["respondent_id", "survey_year", "csat", "nps", "comment_value", "Name"],
            ["r1", "2020", "5", "10", "Danke an Hans Müller für 5 €", "Hans Müller"]]
    if kind == "xlsx":
        wb = openpyxl.Workbook()
        for r in rows:
            wb.active.append(r)
        path = tmp_path / "survey_responses.xlsx"
        wb.save(path)
    else:
        path = write_csv(tmp_path / "survey_responses.csv", rows=rows, sep=";", encoding="cp1252")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        df = load_survey(path)
    assert list(df.columns) == ["respondent_id", "survey_year", "csat", "nps", "comment_value"]
    assert "Müller" not in df.loc[0, "comment_value"] and df.loc[0, "comment_value"].endswith("für 5 €")
