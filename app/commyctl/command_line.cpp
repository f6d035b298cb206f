#include "command_line.h"

#include "console.h"

#include <commy/shm/region.h>

namespace commy::ctl {

UsageError::UsageError(const QString& command, const QString& message)
    : std::runtime_error(message.toStdString())
    , m_command(command)
    , m_message(message)
{
}

CommandParser::CommandParser(QString command, QString synopsis, QString description)
    : m_command(std::move(command))
    , m_synopsis(std::move(synopsis))
    , m_description(std::move(description))
{
    m_parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    m_parser.addHelpOption();
}

void CommandParser::addOption(const QCommandLineOption& option) { m_parser.addOption(option); }

void CommandParser::addPositional(const QString& name, const QString& description)
{
    m_positionalNames.append(name);
    m_parser.addPositionalArgument(name, description);
}

bool CommandParser::parse(const QStringList& args)
{
    if (!m_parser.parse(args))
        fail(m_parser.errorText());
    if (m_parser.isSet(QStringLiteral("help"))) {
        printOut(helpText());
        return false;
    }
    const QStringList positionals = m_parser.positionalArguments();
    if (positionals.size() < m_positionalNames.size())
        fail(QStringLiteral("missing %1").arg(m_positionalNames.at(positionals.size())));
    if (positionals.size() > m_positionalNames.size())
        fail(QStringLiteral("unexpected argument '%1'").arg(positionals.at(m_positionalNames.size())));
    return true;
}

QString CommandParser::positional(int index) const { return m_parser.positionalArguments().value(index); }

bool CommandParser::isSet(const QString& option) const { return m_parser.isSet(option); }

QString CommandParser::value(const QString& option) const { return m_parser.value(option); }

std::uint64_t CommandParser::size(const QString& option) const
{
    const QString text = m_parser.value(option);
    auto parsed = shm::parseSize(text.toStdString());
    if (!parsed)
        fail(QStringLiteral("--%1: '%2' is not a size (examples: 4096, 64K, 64M, 1G)").arg(option, text));
    return *parsed;
}

std::uint64_t CommandParser::number(const QString& option, std::uint64_t min, std::uint64_t max) const
{
    const QString text = m_parser.value(option);
    bool ok = false;
    const qulonglong parsed = text.toULongLong(&ok);
    if (!ok || parsed < min || parsed > max)
        fail(QStringLiteral("--%1: '%2' is not a number from %3 to %4").arg(option, text).arg(min).arg(max));
    return parsed;
}

void CommandParser::fail(const QString& message) const { throw UsageError(m_command, message); }

QString CommandParser::helpText() const
{
    // Qt's own first line names the binary only; ours names the subcommand, which is what one types.
    QString text = m_parser.helpText();
    const qsizetype firstLineEnd = text.indexOf(QLatin1Char('\n'));
    text.replace(
        0, firstLineEnd, QStringLiteral("Usage: commyctl %1 %2\n%3").arg(m_command, m_synopsis, m_description));
    return text.trimmed();
}

} // namespace commy::ctl
