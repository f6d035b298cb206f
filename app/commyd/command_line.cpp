#include "command_line.h"

#include <QCommandLineParser>
#include <QCoreApplication>

namespace commy::commyd {

namespace {

std::optional<QString> valueOf(const QCommandLineParser& parser, const QCommandLineOption& option)
{
    return parser.isSet(option) ? std::optional<QString>(parser.value(option)) : std::nullopt;
}

} // namespace

Expected<CommandLine, QString> parseCommandLine(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "The Commy broker: tenants, services and variables over WebSocket.\n"
        "\n"
        "Prints 'commyd listening on ws://HOST:PORT' (or wss://) on stdout once it serves. On first start\n"
        "with an empty data directory it creates a server admin key: the value of COMMY_BOOTSTRAP_ADMIN_KEY\n"
        "(\"<key_id>.<secret>\") if set, otherwise a generated key written to DIR/admin.key (mode 0600).\n"
        "SIGTERM or SIGINT closes every session (close code 1001), flushes the regions and exits 0.\n"
        "\n"
        "The config file is a JSON object with any of: listen, data_dir, tls_cert, tls_key,\n"
        "max_message_bytes (default 1048576), idle_timeout_ms (default 60000, 0 = never), token_ttl_s\n"
        "(default 3600). Options given on the command line win over the file; relative paths in the file\n"
        "are relative to its folder.\n"
        "\n"
        "Exit codes: 0 after a signal, 1 when the broker cannot start, 2 for a bad command line or config."));
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption version = parser.addVersionOption();
    const QCommandLineOption listen(QStringLiteral("listen"),
        QStringLiteral("Address to serve on: IPv4, [IPv6] or localhost, and a port (0 picks a free one)."),
        QStringLiteral("HOST:PORT"));
    const QCommandLineOption dataDir(QStringLiteral("data-dir"),
        QStringLiteral("Folder of the broker's database and region files."), QStringLiteral("DIR"));
    const QCommandLineOption config(
        QStringLiteral("config"), QStringLiteral("JSON configuration file."), QStringLiteral("FILE"));
    const QCommandLineOption tlsCert(QStringLiteral("tls-cert"),
        QStringLiteral("PEM certificate (chain) to serve wss:// with; needs --tls-key."), QStringLiteral("FILE"));
    const QCommandLineOption tlsKey(
        QStringLiteral("tls-key"), QStringLiteral("Unencrypted PEM private key (RSA or EC)."), QStringLiteral("FILE"));
    parser.addOptions({ listen, dataDir, config, tlsCert, tlsKey });

    if (!parser.parse(arguments))
        return unexpected(parser.errorText());
    CommandLine result;
    if (parser.isSet(help)) {
        result.action = CommandLine::Action::Help;
        result.text = parser.helpText();
        return result;
    }
    if (parser.isSet(version)) {
        result.action = CommandLine::Action::Version;
        result.text = QStringLiteral("%1 %2\n").arg(
            QCoreApplication::applicationName(), QCoreApplication::applicationVersion());
        return result;
    }
    if (!parser.positionalArguments().isEmpty())
        return unexpected(QStringLiteral("unexpected argument '%1'").arg(parser.positionalArguments().first()));

    result.configFile = valueOf(parser, config);
    result.values.listen = valueOf(parser, listen);
    result.values.dataDir = valueOf(parser, dataDir);
    result.values.tlsCert = valueOf(parser, tlsCert);
    result.values.tlsKey = valueOf(parser, tlsKey);
    return result;
}

} // namespace commy::commyd
