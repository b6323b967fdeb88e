"""The import's row checks (a marshmallow schema): every problem of a row, each naming its line and column."""
from survey.importer import parse

HEADER = "reference;structure;siret;caf;caf_nom;caf_fuseau;caf_email;commune;emails\r\n"


def test_a_good_row_becomes_a_project_to_import():
    rows, errors = parse(HEADER + "CLAS-973-1;Asso;775 672 272 00017;973;Caf de Guyane;;;Cayenne;A@b.fr b@c.fr a@b.fr\r\n")
    assert errors == []
    (row,) = rows
    assert (row.line, row.reference, row.siret, row.caf_number, row.commune) == (2, "CLAS-973-1", "77567227200017", "973", "Cayenne")
    assert row.emails == ["a@b.fr", "b@c.fr"]  # lower-cased, once each
    assert row.caf_settings["timezone"] == "America/Cayenne"  # the department's, when the file names none


def test_every_problem_of_a_row_is_named_in_the_files_column_order():
    _rows, errors = parse(HEADER + "CLAS 1;;123;caf;;Lune/Cachée;pas-une-adresse;Ugine;x@y fausse@\r\n"
                                   "CLAS-2;Asso;77567227200017;731;;;;Ugine;\r\n")
    assert [str(error) for error in errors] == [
        "ligne 2, colonne reference : référence absente ou invalide (lettres, chiffres, - _ . /, 60 au plus)",
        "ligne 2, colonne structure : nom de structure absent ou trop long (200 au plus)",
        "ligne 2, colonne siret : SIRET invalide « 123 »",
        "ligne 2, colonne caf : numéro de Caf invalide « caf »",
        "ligne 2, colonne caf_fuseau : fuseau horaire inconnu « Lune/Cachée » (par exemple Indian/Reunion)",
        "ligne 2, colonne emails : adresse électronique invalide « x@y »",
        "ligne 2, colonne emails : adresse électronique invalide « fausse@ »",
        "ligne 3, colonne emails : au moins une adresse électronique est nécessaire",
    ]


def test_a_repeated_reference_names_its_first_line():
    good = "CLAS-1;Asso;77567227200017;731;;;;Ugine;a@b.fr\r\n"
    rows, errors = parse(HEADER + good + good)
    assert len(rows) == 1 and [str(e) for e in errors] == ["ligne 3, colonne reference : référence déjà présente ligne 2"]
