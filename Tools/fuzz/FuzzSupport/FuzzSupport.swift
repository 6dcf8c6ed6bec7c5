// What every fuzz harness shares: replaying files (a corpus, or a crash being fixed) through the
// harness without libFuzzer.
import Foundation

/// Runs `body` on the bytes of each file in `paths` (folders: each file in them), in order, and
/// prints how many were replayed. A crash names the file that caused it on stderr first.
public func replayFiles(_ paths: some Sequence<String>, through body: ([UInt8]) -> Void) {
    var files: [String] = []
    for path in paths {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            files += names.filter { !$0.hasPrefix(".") }.sorted().map { path + "/" + $0 }
        } else {
            files.append(path)
        }
    }
    for file in files {
        guard let data = FileManager.default.contents(atPath: file) else {
            FileHandle.standardError.write(Data("cannot read \(file)\n".utf8))
            exit(2)
        }
        FileHandle.standardError.write(Data("replaying \(file)\n".utf8))
        body([UInt8](data))
    }
    print("replayed \(files.count) files")
}
