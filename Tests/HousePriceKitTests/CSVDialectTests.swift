import Foundation
import Testing
import HousePriceKit
import StrictCSV

@Suite("CSV dialects: delimiters and decimal commas")
struct CSVDialectTests {
    private func parse(_ text: String) throws(CSVError) -> CSVTable {
        try CSVTable.parse(Array(text.utf8), name: "t.csv")
    }

    private func dialect(_ text: String) -> CSVDialect {
        CSVDialect.detect(Array(text.utf8), complete: true)
    }

    @Test("Each notation reads its own forms and refuses the other's and malformed ones")
    func notations() {
        let point = DecimalSeparator.point, comma = DecimalSeparator.comma
        #expect(point.plainDecimal("1,234,567.5") == "1234567.5" && point.plainDecimal("1'234.5") == "1234.5")
        #expect(point.plainDecimal("-$1,225.50") == "-1225.50" && point.plainDecimal("1.225e+006") == "1.225e+006")
        #expect(point.plainDecimal(".5") == "0.5" && point.plainDecimal("1.") == "1.")
        #expect(comma.plainDecimal("1.234.567,5") == "1234567.5" && comma.plainDecimal("1 234,5") == "1234.5")
        #expect(comma.plainDecimal("1\u{A0}234,5") == "1234.5" && comma.plainDecimal("1\u{202F}234") == "1234")
        #expect(comma.plainDecimal("-1.234,50 €") == "-1234.50" && comma.plainDecimal("€ 12,5") == "12.5")
        #expect(comma.plainDecimal(",5") == "0.5" && comma.plainDecimal("3,25") == "3.25")
        // Refused: the other notation's only forms, loose grouping, mixed marks, exponents with commas.
        for text in ["3,25", "1.234,5", "1,22,500", "1,2345.5", "1.5.5", "1e", "e5", ".", "-", "$", "12a", "1 234.5"] {
            #expect(point.plainDecimal(text) == nil, "\(text)")
        }
        for text in ["3.25", "1,234.5", "1.2345,5", "1.234 567", "1,5e3", "1,2,3", ",", "13.10.2014", "1..234"] {
            #expect(comma.plainDecimal(text) == nil, "\(text)")
        }
        // Both readings exist only for exactly-three-digit groups: the separator decides them.
        #expect(point.reading("1.234") == "1.234" && comma.reading("1.234") == "1234")
        #expect(point.reading("1,234") == "1234" && comma.reading("1,234") == "1.234")
        #expect(point.reading("3,25") == "3.25" && comma.reading("3.25") == "3.25" && point.reading("1,22,500") == nil)
    }

    @Test("The delimiter is the one that splits every sampled record alike, the most fields first")
    func delimiters() {
        #expect(dialect("a,b,c\n1,2,3\n") == .standard)
        #expect(dialect("a;b;c\n1;2;3\n").delimiter == UInt8(ascii: ";"))
        #expect(dialect("a\tb\n1.5\t2\n") == CSVDialect(delimiter: UInt8(ascii: "\t"), decimalSeparator: .point))
        #expect(dialect("a|b\n1|2\n").delimiter == UInt8(ascii: "|"))
        // Semicolons inside quoted fields, or in one field of a comma-separated record, do not count.
        #expect(dialect("name,note\n\"x;y;z\",1\nw,\"a;b\"\n").delimiter == UInt8(ascii: ","))
        #expect(dialect("a,b\nx;y,1\n").delimiter == UInt8(ascii: ","))
        // Commas inside semicolon-separated records (decimal commas) do not count either.
        #expect(dialect("a;b\n1,5;2\n2;3,25\n").delimiter == UInt8(ascii: ";"))
        // One column, or nothing consistent: commas, so that the reader names the record that disagrees.
        #expect(dialect("price\n1\n2\n") == .standard)
        #expect(dialect("a,b\n1,2,3\n") == .standard)
        // A last record without a line end counts only in a complete sample.
        #expect(CSVDialect.detect(Array("a;b\n1;2\n3".utf8), complete: false).delimiter == UInt8(ascii: ";"))
    }

    @Test("The decimal separator is the one more cells can be read with only; semicolons break ties towards commas")
    func decimals() {
        #expect(dialect("a;b\n1,5;2\n").decimalSeparator == .comma)
        #expect(dialect("a;b\n1.5;2\n").decimalSeparator == .point)
        #expect(dialect("a;b\n1.234;2\n").decimalSeparator == .comma)
        #expect(dialect("a\tb\n1.234\t2\n").decimalSeparator == .point)
        #expect(dialect("a,b\n\"1,5\",2\n").decimalSeparator == .comma)
        #expect(dialect("a,b\n\"1,5\",2.5\n3.5,4\n").decimalSeparator == .point)
        // The header's names are not evidence.
        #expect(dialect("1.5,x\n2,3\n").decimalSeparator == .point)
        #expect(dialect("3,25;x\n2;3\n").decimalSeparator == .comma)
    }

    @Test("A semicolon file with decimal commas reads like its comma twin; errors name its delimiter")
    func semicolonFiles() throws {
        let table = try parse("\u{FEFF}lon;note;price\r\n-122,23;\"a;b\r\nc\";452.600,00\r\n-122,22;plain;358500\r\n")
        #expect(table.dialect == CSVDialect(delimiter: UInt8(ascii: ";"), decimalSeparator: .comma))
        #expect(table.header == ["lon", "note", "price"])
        #expect(table.rows == [["-122,23", "a;b\r\nc", "452.600,00"], ["-122,22", "plain", "358500"]])
        #expect(table.lines == [2, 4])
        #expect(throws: CSVError(file: "t.csv", line: 3, message: "1 fields, but the header has 2 (fields separated by ';')")) {
            try parse("a;b\n1;2\n3\n")
        }
        #expect(throws: CSVError(file: "t.csv", line: 2, message: "3 fields, but the header has 2 (fields separated by tab)")) {
            try parse("a\tb\n1\t2\t3\n1\t2\n1\t2\n")
        }
        // A delimiter or separator given up front is used as it is; the other is told with it.
        var reader = try CSVReader(name: "t.csv", source: CSVMemorySource(Array("a;b\n1;2\n".utf8)), delimiter: UInt8(ascii: ","))
        let record = try reader.next()
        #expect(reader.header == ["a;b"] && record?.fields == ["1;2"] && reader.dialect.decimalSeparator == .point)
        let given = try CSVTable.parse(Array("a;b\n1.5;2\n".utf8), name: "t.csv", decimalSeparator: .comma)
        #expect(given.dialect == CSVDialect(delimiter: UInt8(ascii: ";"), decimalSeparator: .comma))
    }

    @Test("Writing in a dialect quotes fields that hold its delimiter, and reads back identically")
    func writer() throws {
        let fields = ["1,5", "a;b", "say \"x\"", "tab\there", ""]
        for delimiter in [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\t")] {
            let text = CSVWriter.line(["c1", "c2", "c3", "c4", "c5"], delimiter: delimiter) + CSVWriter.line(fields, delimiter: delimiter)
            let table = try parse(text)
            #expect(table.dialect.delimiter == delimiter && table.rows == [fields], "\(delimiter)")
        }
        #expect(CSVWriter.line(["1,5", "2"], delimiter: UInt8(ascii: ";")) == "1,5;2\n")
    }

    @Test("The dialect is told from the file's start, whatever the reader's buffer size")
    func smallBuffers() throws {
        let text = "lon;price\n" + (0..<3000).map { "-122,\($0 % 100);\($0),5\n" }.joined()
        for bufferSize in [16, 100, 1 << 16] {
            var reader = try CSVReader(name: "t.csv", source: CSVMemorySource(Array(text.utf8)), bufferSize: bufferSize)
            #expect(reader.dialect == CSVDialect(delimiter: UInt8(ascii: ";"), decimalSeparator: .comma))
            var rows = 0
            while let table = try reader.nextTable(maximumRows: 700) { rows += table.rows.count }
            #expect(rows == 3000)
        }
    }

    @Test("Priced rows go back in their file's dialect, fields as they were and the price in its notation")
    func pricedLines() {
        let european = CSVDialect(delimiter: UInt8(ascii: ";"), decimalSeparator: .comma)
        #expect(HousePricePredictor.pricedLine(["1,5", "a;b"], price: 1234.567, dialect: european) == "1,5;\"a;b\";1234,57\n")
        #expect(HousePricePredictor.pricedLine(["1,5", "a;b"], price: 1234.567, dialect: .standard) == "\"1,5\",a;b,1234.57\n")
    }

    @Test("A file that is not UTF-8 from its start is Windows-1252, as spreadsheets save CSV in Western Europe")
    func windows1252() throws {
        #expect(CSVEncoding.detect(Array("a,b\n1,2\n".utf8), complete: true) == .utf8)
        #expect(CSVEncoding.detect(Array("ville\nZürich\n".utf8), complete: true) == .utf8)
        #expect(CSVEncoding.detect(Array("ville\nZ".utf8) + [0xFC, 0x72], complete: true) == .windows1252)
        // A UTF-8 character cut by the sample's end does not count against UTF-8; in a whole file it does.
        let cut = Array("ville\nZ".utf8) + [0xC3]
        #expect(CSVEncoding.detect(cut, complete: false) == .utf8 && CSVEncoding.detect(cut, complete: true) == .windows1252)
        #expect(CSVEncoding.detect(Array("ville\nZ".utf8) + [0xFF], complete: false) == .windows1252)
        #expect(CSVEncoding.windows1252.decode([0x80, 0xFC, 0x41, 0x81, 0x9F, 0xA0]) == "€üA\u{81}Ÿ\u{A0}")
        #expect(CSVEncoding.utf8.decode([0xFC]) == nil)
        // Every byte reads back as itself; a character the code page lacks is written as ?.
        let all = (0...255).map(UInt8.init)
        #expect(CSVEncoding.windows1252.encode(CSVEncoding.windows1252.decode(all)!) == all)
        #expect(CSVEncoding.windows1252.encode("Zürich € 東") == Array("Z".utf8) + [0xFC] + Array("rich ".utf8) + [0x80, 0x20, 0x3F])
        // "Zürich;1.234,50 €" as Excel saves it in Germany.
        let bytes = Array("ville;prix\nZ".utf8) + [0xFC] + Array("rich;1.234,50 ".utf8) + [0x80] + Array("\n".utf8)
        let table = try CSVTable.parse(bytes, name: "t.csv")
        #expect(table.dialect == CSVDialect(delimiter: UInt8(ascii: ";"), decimalSeparator: .comma, encoding: .windows1252))
        #expect(table.rows == [["Zürich", "1.234,50 €"]])
        #expect(table.dialect.decimalSeparator.reading(table.rows[0][1]) == "1234.50")
        // An encoding given (an HTTP charset) is taken as it is: UTF-8 read as Windows-1252, or bytes refused as UTF-8.
        func read(_ bytes: [UInt8], _ encoding: CSVEncoding) throws -> [[String]] {
            var reader = try CSVReader(name: "t.csv", source: CSVMemorySource(bytes), encoding: encoding)
            return try reader.nextTable(maximumRows: 10)?.rows ?? []
        }
        #expect(try read(Array("ville\nZürich\n".utf8), .windows1252) == [["ZÃ¼rich"]])
        #expect(throws: CSVError.self) { try read(bytes, .utf8) }
        #expect(CSVEncoding(charset: "UTF-8") == .utf8 && CSVEncoding(charset: "ISO-8859-1") == .windows1252)
        #expect(CSVEncoding(charset: "Windows-1252") == .windows1252 && CSVEncoding(charset: "utf-16") == nil)
        #expect(["comma", "semicolon", "tab", "bar", "colon"].map(CSVDialect.delimiter(named:))
                    == [UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\t"), UInt8(ascii: "|"), nil])
    }

    @Test("Excel's sep= line names the delimiter and is not the header")
    func separatorLine() throws {
        let table = try parse("sep=;\r\na;b\r\n1,5;2\r\n")
        #expect(table.header == ["a", "b"] && table.rows == [["1,5", "2"]] && table.lines == [3])
        #expect(table.dialect == CSVDialect(delimiter: UInt8(ascii: ";"), decimalSeparator: .comma))
        // The named delimiter is used even where the records alone would suggest another.
        #expect(try parse("sep=|\na,b|c\n1|2\n").header == ["a,b", "c"])
        // A header that only starts like one is a header; errors in the header after one name its line.
        #expect(try parse("sep=x,b\n1,2\n").header == ["sep=x", "b"])
        #expect(throws: CSVError(file: "t.csv", line: 2, message: "column name \"a\" appears twice (columns 1 and 2)")) {
            try parse("sep=,\na,a\n")
        }
    }
}
