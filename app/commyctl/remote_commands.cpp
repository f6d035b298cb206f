#include "remote_commands.h"

#include "command_line.h"
#include "console.h"
#include "exit_codes.h"

#include <commy/protocol/codec.h>

#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSocketNotifier>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace commy::ctl {

using namespace commy::protocol;

namespace {

struct RemoteCommand {
    const char* group;
    const char* name;
    const char* synopsis;
    const char* description;
    QStringList positionals;
    std::function<void(CommandParser&)> addOptions;
    std::function<Request(const CommandParser&)> request;
    std::function<void(const ResultData&, const CommandParser&)> printText;
};

QCommandLineOption jsonOption() { return { QStringLiteral("json"), QStringLiteral("Print the reply as JSON.") }; }
QCommandLineOption base64Option()
{
    return { QStringLiteral("base64"), QStringLiteral("The value is base64 (in and out), not text.") };
}
QCommandLineOption scopesOption()
{
    return { QStringLiteral("scopes"), QStringLiteral("Comma-separated scopes: read, write, subscribe, map, admin."),
        QStringLiteral("LIST") };
}

QString p(const CommandParser& parser, int index) { return parser.positional(index); }

std::vector<Scope> scopesOf(const CommandParser& parser)
{
    std::vector<Scope> scopes;
    for (const QString& name : parser.value(QStringLiteral("scopes")).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const std::optional<Scope> scope = scopeFromName(name.trimmed());
        if (!scope)
            parser.fail(QStringLiteral("--scopes: unknown scope '%1'").arg(name));
        scopes.push_back(*scope);
    }
    if (scopes.empty())
        parser.fail(QStringLiteral("--scopes is required"));
    return scopes;
}

QByteArray valueOf(const CommandParser& parser, int index)
{
    const QString text = parser.positional(index);
    if (!parser.isSet(QStringLiteral("base64")))
        return text.toUtf8();
    auto decoded = QByteArray::fromBase64Encoding(text.toLatin1(), QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded)
        parser.fail(QStringLiteral("VALUE is not base64"));
    return *decoded;
}

std::optional<qint64> sizeOption(const CommandParser& parser, const QString& name)
{
    if (!parser.isSet(name))
        return std::nullopt;
    return qint64(parser.size(name));
}

QString scopeList(const std::vector<Scope>& scopes)
{
    QStringList names;
    for (Scope scope : scopes)
        names.append(scopeName(scope));
    return names.join(QLatin1Char(','));
}

void printService(const ServiceInfo& s)
{
    printOut(QStringLiteral("%1\tsize %2\tlimit %3\tvariables %4")
                 .arg(s.name, formatBytes(std::uint64_t(s.size)), formatBytes(std::uint64_t(s.limit)))
                 .arg(s.variables));
}

void printNothing(const ResultData&, const CommandParser&) { }

template <class T> const T& as(const ResultData& result) { return std::get<T>(result); }

const std::vector<RemoteCommand>& commands()
{
    static const std::vector<RemoteCommand> table {
        { "tenant", "create", "NAME", "Creates a tenant (server_admin).", { "NAME" }, {},
            [](const CommandParser& c) -> Request { return CreateTenant { p(c, 0) }; }, printNothing },
        { "tenant", "delete", "NAME", "Deletes a tenant with its services, keys and region files (server_admin).",
            { "NAME" }, {}, [](const CommandParser& c) -> Request { return DeleteTenant { p(c, 0) }; }, printNothing },
        { "tenant", "list", "", "Lists the tenants (server_admin).", {}, {},
            [](const CommandParser&) -> Request { return ListTenants {}; },
            [](const ResultData& r, const CommandParser&) {
                for (const TenantInfo& t : as<ListTenantsResult>(r).tenants)
                    printOut(QStringLiteral("%1\tservices %2").arg(t.name).arg(t.services));
            } },
        { "key", "create", "TENANT --scopes LIST [--name NAME]", "Creates an API key; it is shown once.", { "TENANT" },
            [](CommandParser& c) {
                c.addOption(scopesOption());
                c.addOption({ QStringLiteral("name"), QStringLiteral("A label for the key."), QStringLiteral("NAME") });
            },
            [](const CommandParser& c) -> Request {
                const QString name = c.value(QStringLiteral("name"));
                return CreateKey { p(c, 0), scopesOf(c), name.isEmpty() ? std::nullopt : std::optional<QString>(name) };
            },
            [](const ResultData& r, const CommandParser&) {
                printOut(QStringLiteral("key_id %1").arg(as<CreateKeyResult>(r).keyId));
                printOut(QStringLiteral("key %1").arg(as<CreateKeyResult>(r).key));
                printErr(QStringLiteral("The key is shown only now: store it."));
            } },
        { "key", "revoke", "TENANT KEY_ID", "Revokes a key and ends the sessions that use it.", { "TENANT", "KEY_ID" },
            {},
            [](const CommandParser& c) -> Request {
                return RevokeKey { p(c, 0), p(c, 1) };
            },
            printNothing },
        { "key", "list", "TENANT", "Lists a tenant's live keys (ids and scopes, never the keys).", { "TENANT" }, {},
            [](const CommandParser& c) -> Request { return ListKeys { p(c, 0) }; },
            [](const ResultData& r, const CommandParser&) {
                for (const KeyInfo& k : as<ListKeysResult>(r).keys)
                    printOut(QStringLiteral("%1\t%2\t%3")
                                 .arg(k.keyId, k.name.value_or(QStringLiteral("-")), scopeList(k.scopes)));
            } },
        { "service", "create", "TENANT SERVICE [--size N] [--limit N]",
            "Creates a service: a region file that grows on demand up to --limit.", { "TENANT", "SERVICE" },
            [](CommandParser& c) {
                c.addOption(
                    { QStringLiteral("size"), QStringLiteral("Initial size (64K, 16M, ...)."), QStringLiteral("N") });
                c.addOption(
                    { QStringLiteral("limit"), QStringLiteral("Largest size it may grow to."), QStringLiteral("N") });
            },
            [](const CommandParser& c) -> Request {
                return CreateService { p(c, 0), p(c, 1), sizeOption(c, QStringLiteral("size")),
                    sizeOption(c, QStringLiteral("limit")) };
            },
            [](const ResultData& r, const CommandParser&) { printService(as<ServiceInfo>(r)); } },
        { "service", "delete", "TENANT SERVICE", "Deletes a service and its region file.", { "TENANT", "SERVICE" }, {},
            [](const CommandParser& c) -> Request {
                return DeleteService { p(c, 0), p(c, 1) };
            },
            printNothing },
        { "service", "list", "TENANT", "Lists a tenant's services.", { "TENANT" }, {},
            [](const CommandParser& c) -> Request { return ListServices { p(c, 0) }; },
            [](const ResultData& r, const CommandParser&) {
                for (const ServiceInfo& s : as<ListServicesResult>(r).services)
                    printService(s);
            } },
        { "service", "info", "TENANT SERVICE", "Shows a service's size, limit and variable count.",
            { "TENANT", "SERVICE" }, {},
            [](const CommandParser& c) -> Request {
                return GetService { p(c, 0), p(c, 1) };
            },
            [](const ResultData& r, const CommandParser&) { printService(as<ServiceInfo>(r)); } },
        { "var", "alloc", "TENANT SERVICE VARIABLE VALUE [--base64]", "Creates a variable with a first value.",
            { "TENANT", "SERVICE", "VARIABLE", "VALUE" }, [](CommandParser& c) { c.addOption(base64Option()); },
            [](const CommandParser& c) -> Request {
                return AllocateVariable { p(c, 0), p(c, 1), p(c, 2), valueOf(c, 3) };
            },
            [](const ResultData& r, const CommandParser&) {
                printOut(QStringLiteral("version %1").arg(as<WriteResult>(r).version));
            } },
        { "var", "set", "TENANT SERVICE VARIABLE VALUE [--base64] [--expected-version N]",
            "Writes a variable; with --expected-version only if it still has that version.",
            { "TENANT", "SERVICE", "VARIABLE", "VALUE" },
            [](CommandParser& c) {
                c.addOption(base64Option());
                c.addOption(
                    { QStringLiteral("expected-version"), QStringLiteral("Compare-and-set."), QStringLiteral("N") });
            },
            [](const CommandParser& c) -> Request {
                std::optional<qint64> expected;
                if (c.isSet(QStringLiteral("expected-version")))
                    expected = qint64(c.number(QStringLiteral("expected-version"), 0, std::uint64_t(kMaxWireInteger)));
                return WriteVariable { p(c, 0), p(c, 1), p(c, 2), valueOf(c, 3), expected };
            },
            [](const ResultData& r, const CommandParser&) {
                printOut(QStringLiteral("version %1").arg(as<WriteResult>(r).version));
            } },
        { "var", "get", "TENANT SERVICE VARIABLE [--base64]", "Prints a variable's value (its version on stderr).",
            { "TENANT", "SERVICE", "VARIABLE" }, [](CommandParser& c) { c.addOption(base64Option()); },
            [](const CommandParser& c) -> Request {
                return ReadVariable { p(c, 0), p(c, 1), p(c, 2) };
            },
            [](const ResultData& r, const CommandParser& c) {
                const ReadResult& read = as<ReadResult>(r);
                printOut(c.isSet(QStringLiteral("base64")) ? QString::fromLatin1(read.value.toBase64())
                                                           : QString::fromUtf8(read.value));
                printErr(QStringLiteral("version %1").arg(read.version));
            } },
        { "var", "rm", "TENANT SERVICE VARIABLE", "Deletes a variable.", { "TENANT", "SERVICE", "VARIABLE" }, {},
            [](const CommandParser& c) -> Request {
                return DeallocateVariable { p(c, 0), p(c, 1), p(c, 2) };
            },
            printNothing },
        { "var", "list", "TENANT SERVICE", "Lists a service's variables with size and version.",
            { "TENANT", "SERVICE" }, {},
            [](const CommandParser& c) -> Request {
                return ListVariables { p(c, 0), p(c, 1) };
            },
            [](const ResultData& r, const CommandParser&) {
                for (const VariableInfo& v : as<ListVariablesResult>(r).variables)
                    printOut(QStringLiteral("%1\tsize %2\tversion %3").arg(v.name).arg(v.size).arg(v.version));
            } },
    };
    return table;
}

QJsonObject resultJson(const ResultData& result)
{
    return QJsonDocument::fromJson(encodeResult(RequestId(qint64(0)), result))
        .object()
        .value(QStringLiteral("data"))
        .toObject();
}

RemoteCommand watchCommand()
{
    return { "var", "watch", "TENANT SERVICE [--variables A,B] [--count N] [--json]",
        "Subscribes and prints every change until interrupted (or after --count changes).", { "TENANT", "SERVICE" },
        [](CommandParser& c) {
            c.addOption({ QStringLiteral("variables"), QStringLiteral("Only these variables (default: all)."),
                QStringLiteral("LIST") });
            c.addOption({ QStringLiteral("count"), QStringLiteral("Exit after N changes."), QStringLiteral("N") });
        },
        [](const CommandParser& c) -> Request {
            // A bad --count is a usage error before any connection; watch() reads the value again.
            if (c.isSet(QStringLiteral("count")))
                c.number(QStringLiteral("count"), 1, 1u << 30);
            std::optional<std::vector<QString>> variables;
            if (c.isSet(QStringLiteral("variables"))) {
                variables.emplace();
                for (const QString& name :
                    c.value(QStringLiteral("variables")).split(QLatin1Char(','), Qt::SkipEmptyParts))
                    variables->push_back(name);
            }
            return Subscribe { p(c, 0), p(c, 1), variables };
        },
        printNothing };
}

// Ctrl-C and SIGTERM end a watch through the event loop: the handler only writes a byte to a pipe
// (write() is async-signal-safe). QCoreApplication::quit() is not: called from a handler it can
// block on the event dispatcher's lock, held by the very thread the signal interrupted.
int stopPipe[2] = { -1, -1 };

void onStopSignal(int)
{
    const int savedErrno = errno;
    const char byte = 1;
    [[maybe_unused]] const ssize_t written = ::write(stopPipe[1], &byte, 1);
    errno = savedErrno;
}

int watch(RemoteSession& session, const CommandParser& parser, const Request& subscribe)
{
    const bool json = parser.isSet(QStringLiteral("json"));
    const qint64 limit
        = parser.isSet(QStringLiteral("count")) ? qint64(parser.number(QStringLiteral("count"), 1, 1u << 30)) : -1;
    qint64 seen = 0;
    // QCoreApplication::quit() only ends a running loop: the count may be reached by a push that
    // comes with the Subscribe reply, before the watch loop runs, which then must not start.
    bool watching = false;
    QObject::connect(&session.client(), &client::BrokerClient::variableChanged, &session.client(),
        [&](const VariableChanged& change) {
            if (limit > 0 && seen >= limit)
                return;
            if (json)
                printOut(QString::fromUtf8(encodePush(change)));
            else
                printOut(QStringLiteral("%1/%2 version %3 seq %4 %5")
                             .arg(change.service, change.variable)
                             .arg(change.version)
                             .arg(change.seq)
                             .arg(QString::fromUtf8(change.value)));
            if (limit > 0 && ++seen >= limit && watching)
                QCoreApplication::quit();
        });
    QObject::connect(&session.client(), &client::BrokerClient::disconnected, &session.client(), [] {
        printErr(QStringLiteral("commyctl: the broker closed the connection"));
        QCoreApplication::exit(ExitFailed);
    });
    auto reply = session.call(subscribe);
    if (!reply) {
        printErr(QStringLiteral("commyctl: %1").arg(describe(reply.error())));
        return ExitFailed;
    }
    // Lost while the Subscribe reply was handled: the exit() above had no loop to end yet.
    if (session.client().state() != client::BrokerClient::State::Connected) {
        printErr(QStringLiteral("commyctl: the broker closed the connection"));
        return ExitFailed;
    }
    // Ctrl-C ends the loop normally (exit code 0). Set up before "watching" is printed: whoever
    // waits for that line may interrupt at once.
    if (::pipe2(stopPipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        const QString reason = QString::fromLocal8Bit(std::strerror(errno));
        printErr(QStringLiteral("commyctl: cannot create a pipe: %1").arg(reason));
        return ExitFailed;
    }
    QSocketNotifier stop(stopPipe[0], QSocketNotifier::Read);
    QObject::connect(&stop, &QSocketNotifier::activated, &stop, [] { QCoreApplication::quit(); });
    struct sigaction action = {};
    action.sa_handler = onStopSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
    printErr(QStringLiteral("watching %1/%2; Ctrl-C to stop").arg(parser.positional(0), parser.positional(1)));
    if (limit > 0 && seen >= limit)
        return ExitOk;
    watching = true;
    return QCoreApplication::exec();
}

} // namespace

bool isRemoteGroup(const QString& group)
{
    return group == QLatin1String("tenant") || group == QLatin1String("key") || group == QLatin1String("service")
        || group == QLatin1String("var");
}

QString remoteOverview()
{
    QStringList lines { QStringLiteral(
        "Broker commands: commyctl --url URL --key KEY [--key-tenant T] <group> <command>") };
    for (const RemoteCommand& c : commands())
        lines.append(
            QStringLiteral("  %1 %2 %3").arg(QLatin1String(c.group), QLatin1String(c.name), QLatin1String(c.synopsis)));
    const RemoteCommand w = watchCommand();
    lines.append(
        QStringLiteral("  %1 %2 %3").arg(QLatin1String(w.group), QLatin1String(w.name), QLatin1String(w.synopsis)));
    return lines.join(QLatin1Char('\n'));
}

int runRemote(const RemoteOptions& options, const QStringList& args)
{
    const QString group = args.value(0);
    const QString name = args.value(1);
    std::optional<RemoteCommand> found;
    for (const RemoteCommand& c : commands())
        if (group == QLatin1String(c.group) && name == QLatin1String(c.name))
            found = c;
    if (group == QLatin1String("var") && name == QLatin1String("watch"))
        found = watchCommand();
    if (!found)
        throw UsageError(group,
            name.isEmpty() ? QStringLiteral("missing command") : QStringLiteral("unknown command '%1'").arg(name));

    CommandParser parser(
        QStringLiteral("%1 %2").arg(group, name), QLatin1String(found->synopsis), QLatin1String(found->description));
    for (const QString& positional : found->positionals)
        parser.addPositional(positional, positional.toLower());
    parser.addOption(jsonOption());
    if (found->addOptions)
        found->addOptions(parser);
    QStringList commandArgs = args.mid(2);
    commandArgs.prepend(QStringLiteral("commyctl %1 %2").arg(group, name));
    if (!parser.parse(commandArgs))
        return ExitOk;
    const Request request = found->request(parser); // usage errors surface before connecting
    if (options.url.isEmpty() || options.key.isEmpty())
        throw UsageError(QStringLiteral("%1 %2").arg(group, name), QStringLiteral("--url and --key are required"));

    auto session = RemoteSession::open(options);
    if (!session) {
        printErr(QStringLiteral("commyctl: %1").arg(session.error()));
        return ExitCannotOpen;
    }
    if (group == QLatin1String("var") && name == QLatin1String("watch"))
        return watch(**session, parser, request);
    auto reply = (*session)->call(request);
    if (!reply) {
        printErr(QStringLiteral("commyctl: %1").arg(describe(reply.error())));
        return ExitFailed;
    }
    if (parser.isSet(QStringLiteral("json")))
        printOut(QString::fromUtf8(QJsonDocument(resultJson(*reply)).toJson(QJsonDocument::Compact)));
    else
        found->printText(*reply, parser);
    return ExitOk;
}

} // namespace commy::ctl
