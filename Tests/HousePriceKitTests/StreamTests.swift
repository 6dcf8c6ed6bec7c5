import Foundation
import Testing

@Suite("house-price: files and streams")
struct HousePriceStreamTests {
    @Test("A full disk or a closed pipe behind stdout: one error line and exit status 1; a FIFO is not read")
    func brokenStdout() throws {
        let directory = temporaryDirectory()
        write("longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,households,median_income,median_house_value,ocean_proximity\n"
              + String(repeating: "-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3252,452600.0,NEAR BAY\n", count: 20_000), to: directory + "/rows.csv")
        for command in [["predict", directory + "/rows.csv"], ["evaluate", directory + "/rows.csv"], ["inspect"]] {
            let full = try runToolWithBrokenStdout("house-price", command)
            #expect(full.status == 1, "\(command)")
            #expect(full.stderr.hasSuffix("Error: cannot write to stdout: No space left on device\n"), "\(command): \(full.stderr)")
            let closed = try runToolWithBrokenStdout("house-price", command, closedPipe: true)
            #expect(closed.status == 1, "\(command)")
            #expect(closed.stderr.hasSuffix("Error: cannot write to stdout: Broken pipe\n"), "\(command): \(closed.stderr)")
        }
        #expect(mkfifo(directory + "/pipe.csv", 0o644) == 0)
        for command in ["predict", "evaluate"] {
            let run = try runHousePrice([command, directory + "/pipe.csv"])
            #expect(run.status == 1)
            #expect(run.stderr.hasSuffix("Error: \(directory)/pipe.csv: is not a regular file (a FIFO, socket or device)\n"), "\(run.stderr)")
        }
        let train = try runHousePrice(["train", directory + "/pipe.csv", "--target", "x", "--output", directory + "/m.safetensors"])
        #expect(train.status == 1 && train.stderr.hasSuffix("is not a regular file (a FIFO, socket or device)\n"), "\(train.stderr)")
    }

    @Test("A value so large that the price is not finite is an error naming the line, in predict and evaluate")
    func nonFinitePrice() throws {
        let directory = temporaryDirectory()
        write("longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,households,median_income,median_house_value,ocean_proximity\n"
              + "-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3,452600.0,NEAR BAY\n"
              + "-122.23,37.88,41.0,880.0,129.0,322.0,126.0,1e308,452600.0,NEAR BAY\n", to: directory + "/rows.csv")
        for command in [["predict", directory + "/rows.csv", "--output", directory + "/out.csv"], ["evaluate", directory + "/rows.csv", "--json"]] {
            let run = try runHousePrice(command + ["--model", "data/models/house-price.safetensors"])
            #expect(run.status == 1)
            #expect(run.stdout.isEmpty)
            #expect(run.stderr == "Error: \(directory)/rows.csv:3: the predicted price is not a finite number; "
                    + "are the row's values far beyond the training data's?\n", "\(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/out.csv"))
    }
}
