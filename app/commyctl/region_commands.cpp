#include "region_commands.h"

#include "command_line.h"
#include "console.h"
#include "exit_codes.h"
#include "region_report.h"

#include <commy/shm/container_reader.h>

#include <QJsonDocument>

namespace {

using namespace commy::ctl;
namespace shm = commy::shm;

const QString kPath = QStringLiteral("PATH");

QCommandLineOption jsonOption()
{
    return QCommandLineOption(QStringLiteral("json"), QStringLiteral("Print JSON instead of text."));
}

QCommandLineOption sizeOption(const QString& description)
{
    return QCommandLineOption(QStringLiteral("size"), description, QStringLiteral("N"));
}

void printJson(const QJsonObject& object)
{
    printOut(QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Indented)).trimmed());
}

void printLines(const QStringList& lines)
{
    for (const QString& line : lines)
        printOut(line);
}

int reportFailure(const QString& what, const QString& path, shm::RegionError error)
{
    printErr(QStringLiteral("commyctl: %1 %2: %3").arg(what, path, QLatin1String(shm::errorMessage(error))));
    return ExitFailed;
}

} // namespace

namespace commy::ctl {

std::unique_ptr<shm::Region> openExistingOrReport(const QString& path, std::uint64_t localCacheBytes)
{
    shm::RegionOptions options;
    options.mode = shm::OpenMode::OpenExisting;
    options.localCacheBytes = localCacheBytes;
    auto region = shm::Region::open(path.toStdString(), options);
    if (!region) {
        printErr(
            QStringLiteral("commyctl: cannot open %1: %2").arg(path, QLatin1String(shm::errorMessage(region.error()))));
        return nullptr;
    }
    return std::move(*region);
}

int runCreate(const QStringList& args)
{
    CommandParser parser(QStringLiteral("region create"), QStringLiteral("PATH --size N [--limit N] [--auto-grow]"),
        QStringLiteral("Creates a new region file; fails if the file exists."));
    parser.addPositional(kPath, QStringLiteral("The region file to create."));
    parser.addOption(sizeOption(QStringLiteral("File size (suffixes K, M, G).")));
    parser.addOption(QCommandLineOption(QStringLiteral("limit"),
        QStringLiteral("Largest size the file may grow to (default: no limit)."), QStringLiteral("N")));
    parser.addOption(QCommandLineOption(QStringLiteral("auto-grow"),
        QStringLiteral("Grow the file (up to the limit) when an allocation does not fit.")));
    if (!parser.parse(args))
        return ExitOk;
    if (!parser.isSet(QStringLiteral("size")))
        parser.fail(QStringLiteral("--size is required"));

    shm::RegionOptions options;
    options.mode = shm::OpenMode::CreateOnly;
    options.size = parser.size(QStringLiteral("size"));
    options.limit = parser.isSet(QStringLiteral("limit")) ? parser.size(QStringLiteral("limit")) : 0;
    options.autoGrow = parser.isSet(QStringLiteral("auto-grow"));
    if (options.size < shm::Region::minRegionSize())
        parser.fail(QStringLiteral("--size must be at least %1 bytes").arg(shm::Region::minRegionSize()));
    if (options.limit != 0 && options.limit < options.size)
        parser.fail(QStringLiteral("--limit must not be below --size"));

    const QString path = parser.positional(0);
    auto region = shm::Region::open(path.toStdString(), options);
    if (!region) {
        printErr(QStringLiteral("commyctl: cannot create %1: %2")
                     .arg(path, QLatin1String(shm::errorMessage(region.error()))));
        return ExitCannotOpen;
    }
    printOut(QStringLiteral("created %1 (%2 bytes)").arg(path).arg((*region)->size()));
    return ExitOk;
}

int runInfo(const QStringList& args)
{
    CommandParser parser(QStringLiteral("region info"), QStringLiteral("PATH [--json]"),
        QStringLiteral("Shows the header, allocator statistics, counters, roots and attached processes."));
    parser.addPositional(kPath, QStringLiteral("The region file."));
    parser.addOption(jsonOption());
    if (!parser.parse(args))
        return ExitOk;
    const QString path = parser.positional(0);
    auto region = openExistingOrReport(path);
    if (!region)
        return ExitCannotOpen;
    auto snapshot = takeSnapshot(*region);
    if (!snapshot)
        return reportFailure(QStringLiteral("cannot read"), path, snapshot.error());
    if (parser.isSet(QStringLiteral("json")))
        printJson(snapshotToJson(*snapshot));
    else
        printLines(snapshotToText(*snapshot));
    return ExitOk;
}

int runCheck(const QStringList& args)
{
    CommandParser parser(QStringLiteral("region check"), QStringLiteral("PATH"),
        QStringLiteral("Checks the region's consistency, then every container's (which first recovers an operation a "
                       "killed process left half done). Exit codes: 0 consistent, 1 inconsistent, 2 cannot open or "
                       "cannot check."));
    parser.addPositional(kPath, QStringLiteral("The region file."));
    if (!parser.parse(args))
        return ExitOk;
    const QString path = parser.positional(0);
    auto region = openExistingOrReport(path);
    if (!region)
        return ExitCannotOpen;
    auto sane = region->checkSanity();
    if (!sane && sane.error().error != shm::RegionError::Corrupt) {
        printErr(QStringLiteral("commyctl: cannot check %1: %2")
                     .arg(path, QLatin1String(shm::errorMessage(sane.error().error))));
        return ExitCannotOpen;
    }
    if (!sane) {
        printErr(QStringLiteral("inconsistent at offset %1 (%2): %3")
                     .arg(formatHex(sane.error().offset))
                     .arg(sane.error().offset)
                     .arg(QString::fromStdString(sane.error().description)));
        return ExitFailed;
    }
    auto roots = region->roots();
    if (!roots)
        return reportFailure(QStringLiteral("cannot list the roots of"), path, roots.error());
    int containers = 0, inconsistent = 0, unchecked = 0;
    for (const shm::RootInfo& root : *roots) {
        if (root.kind == shm::RootKind::Bytes)
            continue;
        ++containers;
        const QString name = QString::fromStdString(root.name);
        auto checked = shm::checkContainer(*region, root.name);
        if (checked)
            continue;
        const shm::CorruptionReport& report = checked.error();
        if (report.error != shm::RegionError::Corrupt) {
            ++unchecked;
            printErr(
                QStringLiteral("cannot check container %1: %2").arg(name, QString::fromStdString(report.description)));
            continue;
        }
        ++inconsistent;
        printErr(QStringLiteral("container %1 inconsistent at offset %2 (%3): %4")
                     .arg(name, formatHex(report.offset))
                     .arg(report.offset)
                     .arg(QString::fromStdString(report.description)));
    }
    if (inconsistent > 0)
        return ExitFailed;
    if (unchecked > 0)
        return ExitCannotOpen;
    printOut(containers == 0 ? QStringLiteral("consistent")
                             : QStringLiteral("consistent (%1 containers checked)").arg(containers));
    return ExitOk;
}

int runBlocks(const QStringList& args)
{
    CommandParser parser(QStringLiteral("region blocks"), QStringLiteral("PATH [--json]"),
        QStringLiteral("Lists every block of the arena in address order."));
    parser.addPositional(kPath, QStringLiteral("The region file."));
    parser.addOption(jsonOption());
    if (!parser.parse(args))
        return ExitOk;
    const QString path = parser.positional(0);
    auto region = openExistingOrReport(path);
    if (!region)
        return ExitCannotOpen;
    auto blocks = region->blocks();
    if (!blocks)
        return reportFailure(QStringLiteral("cannot walk the blocks of"), path, blocks.error());
    if (parser.isSet(QStringLiteral("json")))
        printJson(blocksToJson(path, *blocks));
    else
        printLines(blocksToText(*blocks));
    return ExitOk;
}

int runResize(const QStringList& args)
{
    CommandParser parser(QStringLiteral("region resize"), QStringLiteral("PATH --size N"),
        QStringLiteral("Grows the region online; attached processes remap on their next call."));
    parser.addPositional(kPath, QStringLiteral("The region file."));
    parser.addOption(sizeOption(QStringLiteral("New file size (suffixes K, M, G).")));
    if (!parser.parse(args))
        return ExitOk;
    if (!parser.isSet(QStringLiteral("size")))
        parser.fail(QStringLiteral("--size is required"));
    const std::uint64_t size = parser.size(QStringLiteral("size"));
    const QString path = parser.positional(0);
    auto region = openExistingOrReport(path);
    if (!region)
        return ExitCannotOpen;
    if (auto resized = region->resizeFile(size); !resized) {
        if (resized.error() == shm::RegionError::InvalidArgument && size < region->size()) {
            printErr(QStringLiteral("commyctl: cannot resize %1: %2 is below the current size %3; use 'region shrink'")
                         .arg(path)
                         .arg(size)
                         .arg(region->size()));
            return ExitFailed;
        }
        return reportFailure(QStringLiteral("cannot resize"), path, resized.error());
    }
    printOut(QStringLiteral("size %1 (%2), generation %3")
                 .arg(region->size())
                 .arg(formatBytes(region->size()))
                 .arg(region->generation()));
    return ExitOk;
}

int runShrink(const QStringList& args)
{
    CommandParser parser(QStringLiteral("region shrink"), QStringLiteral("PATH"),
        QStringLiteral("Trims free space at the end of the region; never moves or cuts live data."));
    parser.addPositional(kPath, QStringLiteral("The region file."));
    if (!parser.parse(args))
        return ExitOk;
    const QString path = parser.positional(0);
    auto region = openExistingOrReport(path);
    if (!region)
        return ExitCannotOpen;
    auto size = region->shrinkToUsage();
    if (!size)
        return reportFailure(QStringLiteral("cannot shrink"), path, size.error());
    printOut(QStringLiteral("size %1 (%2)").arg(*size).arg(formatBytes(*size)));
    return ExitOk;
}

int runCleanup(const QStringList& args)
{
    CommandParser parser(QStringLiteral("region cleanup"), QStringLiteral("PATH [--json]"),
        QStringLiteral("Frees the slots of dead processes and reclaims the blocks they never published."));
    parser.addPositional(kPath, QStringLiteral("The region file."));
    parser.addOption(jsonOption());
    if (!parser.parse(args))
        return ExitOk;
    const QString path = parser.positional(0);
    auto region = openExistingOrReport(path);
    if (!region)
        return ExitCannotOpen;
    auto report = region->cleanup();
    if (!report)
        return reportFailure(QStringLiteral("cannot clean up"), path, report.error());
    if (parser.isSet(QStringLiteral("json")))
        printJson(cleanupToJson(*report));
    else
        printLines(cleanupToText(*report));
    return ExitOk;
}

int runDump(const QStringList& args)
{
    CommandParser parser(QStringLiteral("region dump"), QStringLiteral("PATH ROOT [--offset N] [--limit N] [--json]"),
        QStringLiteral("Decodes elements [offset, offset + limit) of the container ROOT from its type alone (a "
                       "string root is one value: its bytes [offset, offset + limit)). Exit codes: 0 shown, 1 no such "
                       "container, 2 cannot open the region or the container is damaged."));
    parser.addPositional(kPath, QStringLiteral("The region file."));
    parser.addPositional(QStringLiteral("ROOT"), QStringLiteral("The container's root name."));
    parser.addOption(QCommandLineOption(
        QStringLiteral("offset"), QStringLiteral("First element to show (default 0)."), QStringLiteral("N")));
    parser.addOption(QCommandLineOption(
        QStringLiteral("limit"), QStringLiteral("Most elements to show (default 100)."), QStringLiteral("N")));
    parser.addOption(jsonOption());
    if (!parser.parse(args))
        return ExitOk;
    constexpr std::uint64_t kMax = ~std::uint64_t { 0 };
    const std::uint64_t offset
        = parser.isSet(QStringLiteral("offset")) ? parser.number(QStringLiteral("offset"), 0, kMax) : 0;
    const std::uint64_t limit
        = parser.isSet(QStringLiteral("limit")) ? parser.number(QStringLiteral("limit"), 0, kMax) : 100;
    const QString path = parser.positional(0);
    const QString root = parser.positional(1);
    auto region = openExistingOrReport(path);
    if (!region)
        return ExitCannotOpen;

    const auto failed = [&](shm::RegionError error) {
        printErr(QStringLiteral("commyctl: cannot dump %1 in %2: %3")
                     .arg(root, path,
                         error == shm::RegionError::TypeMismatch ? QStringLiteral("not a container this build can read")
                                                                 : QLatin1String(shm::errorMessage(error))));
        return error == shm::RegionError::RootNotFound || error == shm::RegionError::TypeMismatch ? ExitFailed
                                                                                                  : ExitCannotOpen;
    };
    auto reader = shm::ContainerReader::open(*region, root.toStdString());
    if (!reader)
        return failed(reader.error());
    if (parser.isSet(QStringLiteral("json"))) {
        // Printed as the engine writes it: a JSON number holds a u64 exactly only as text.
        auto json = reader->toJson(offset, limit);
        if (!json)
            return failed(json.error());
        printOut(QString::fromStdString(*json));
        return ExitOk;
    }
    auto summary = reader->summary();
    if (!summary)
        return failed(summary.error());
    auto elements = reader->elements(offset, limit);
    if (!elements)
        return failed(elements.error());
    printLines(dumpToText(*summary, *elements, offset, limit));
    return ExitOk;
}

} // namespace commy::ctl
