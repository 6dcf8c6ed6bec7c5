import Foundation
import Testing
import StrictCSV

@Suite("CSV parsing")
struct CSVTests {
    private func parse(_ text: String) throws(CSVError) -> CSVTable {
        try CSVTable.parse(Array(text.utf8), name: "t.csv")
    }

    @Test("Quotes with commas, doubled quotes and line breaks; BOM; CRLF; no final newline")
    func rfc4180() throws {
        let table = try parse("\u{FEFF}id,name,note\r\n1,\"Smith, J\",\"said \"\"hi\"\"\"\r\n2,plain,\"two\r\nlines\"\r\n3,,last")
        #expect(table.header == ["id", "name", "note"])
        #expect(table.rows == [["1", "Smith, J", "said \"hi\""], ["2", "plain", "two\r\nlines"], ["3", "", "last"]])
        #expect(table.lines == [2, 3, 5])
    }

    @Test("LF line ends, trailing blank line, spaces around header names")
    func variations() throws {
        let table = try parse(" a , b\n1,2\n3,4\n\n")
        #expect(table.header == ["a", "b"])
        #expect(table.rows.count == 2)
    }

    @Test("Malformed input is reported by line")
    func errors() {
        #expect(throws: CSVError(file: "t.csv", line: 1, message: "the file is empty")) { try parse("") }
        #expect(throws: CSVError(file: "t.csv", line: 3, message: "3 fields, but the header has 2")) { try parse("a,b\n1,2\n1,2,3\n") }
        #expect(throws: CSVError(file: "t.csv", line: 2, message: "1 fields, but the header has 2")) { try parse("a,b\n1\n") }
        #expect(throws: CSVError(file: "t.csv", line: 2, message: "field 2 opens a quote that never closes")) { try parse("a,b\n1,\"oops\n2,3\n") }
        #expect(throws: CSVError(file: "t.csv", line: 2, message: "field 1 has text after its closing quote")) { try parse("a,b\n\"x\"y,2\n") }
        #expect(throws: CSVError.self) { try parse("a,a\n1,2\n") }
        // A file that starts as UTF-8 and breaks it later (its first 64 KB decide the encoding).
        let valid = Array("a,b\n".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: CSVReader.dialectSampleBytes) + Array(",1\n".utf8)
        #expect(throws: CSVError(file: "t.csv", line: 3, message: "field 1 is not valid UTF-8")) {
            try CSVTable.parse(valid + [0xFF, 0x2C, 0x31], name: "t.csv")
        }
    }

    @Test("Writing quotes exactly the fields that need it, and reads back identically")
    func writer() throws {
        let fields = ["plain", "a,b", "say \"x\"", "two\nlines", ""]
        let table = try parse(CSVWriter.line(["c1", "c2", "c3", "c4", "c5"]) + CSVWriter.line(fields))
        #expect(table.rows == [fields])
        #expect(CSVWriter.quoted("plain") == "plain")
    }

    @Test("Read in pieces through buffers of every small size, records and errors are those of the whole file")
    func streaming() throws {
        let text = "\u{FEFF}id,name,note\r\n1,\"Smith, J\",\"said \"\"hi\"\"\"\r\n2,plain,\"two\r\nlines\"\r\n\r\n3,,last\r\n4,\"\",x"
        let whole = try parse(text)
        for bufferSize in 16...40 {
            for chunk in [1, 2, 3, 100] {
                var reader = try CSVReader(name: "t.csv", source: CSVMemorySource(Array(text.utf8)), bufferSize: bufferSize)
                #expect(reader.header == whole.header)
                var rows: [[String]] = [], lines: [Int] = []
                while let table = try reader.nextTable(maximumRows: chunk) {
                    #expect(table.rows.count <= chunk)
                    rows += table.rows
                    lines += table.lines
                }
                #expect(rows == whole.rows && lines == whole.lines, "buffer \(bufferSize), chunk \(chunk)")
            }
        }
        let broken = "a,b\n1,2\n" + String(repeating: "3,4\n", count: 50) + "5,\"6\n"
        #expect(throws: CSVError(file: "t.csv", line: 53, message: "field 2 opens a quote that never closes")) {
            var reader = try CSVReader(name: "t.csv", source: CSVMemorySource(Array(broken.utf8)), bufferSize: 16)
            while try reader.next() != nil {}
        }
    }

    @Test("A file source reads regular files only, and names the file in errors")
    func fileSource() throws {
        let folder = temporaryDirectory()
        #expect(throws: CSVError(file: folder, line: 0, message: "is a folder, not a file")) { try CSVFileSource(path: folder) }
        #expect(throws: CSVError(file: folder + "/none.csv", line: 0, message: "No such file or directory")) {
            try CSVFileSource(path: folder + "/none.csv")
        }
        #expect(CSVError(file: "f.csv", line: 0, message: "m").description == "f.csv: m")
        let fifo = folder + "/pipe.csv"
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(throws: CSVError(file: fifo, line: 0, message: "is not a regular file (a FIFO, socket or device)")) {
            try CSVFileSource(path: fifo)
        }
    }
}
