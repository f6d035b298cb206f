#pragma once

#include <QCommandLineParser>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <stdexcept>

namespace commy::ctl {

// A bad command line. Thrown by argument parsing only and caught in main(), which prints it with a
// hint and exits with ExitUsage; everything else reports failures as return codes.
class UsageError : public std::runtime_error {
public:
    UsageError(const QString& command, const QString& message);
    const QString& command() const { return m_command; }
    const QString& message() const { return m_message; }

private:
    QString m_command;
    QString m_message;
};

// One subcommand's parser: the fixed positional arguments it takes, its options, and typed accessors
// that turn a malformed value into a UsageError naming the option.
class CommandParser {
public:
    // command: e.g. "region create"; synopsis: e.g. "PATH --size N [--limit N]".
    CommandParser(QString command, QString synopsis, QString description);

    void addOption(const QCommandLineOption& option);
    void addPositional(const QString& name, const QString& description);

    // Parses args (args[0] is skipped, as argv[0] is). Returns false when --help was asked for and
    // printed: the caller then exits with ExitOk.
    bool parse(const QStringList& args);

    QString positional(int index) const;
    bool isSet(const QString& option) const;
    QString value(const QString& option) const;
    std::uint64_t size(const QString& option) const; // parseSize() suffixes; throws UsageError
    std::uint64_t number(const QString& option, std::uint64_t min, std::uint64_t max) const;
    [[noreturn]] void fail(const QString& message) const;

private:
    QString helpText() const;

    QString m_command;
    QString m_synopsis;
    QString m_description;
    QStringList m_positionalNames;
    QCommandLineParser m_parser;
};

} // namespace commy::ctl
