#include <monitor/demo/demo_workload.h>

#include <commy/client/broker_client.h>

#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QProcess>
#include <QRandomGenerator>
#include <QTime>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <functional>

namespace commy::monitor {

using client::BrokerClient;
namespace protocol = commy::protocol;

namespace {

// How a variable's values move. Each gives text that reads well in the monitor.
enum class ValueKind {
    Temperature, // "68.3", drifting around `base` by up to `spread`
    Percent, // "45.2", likewise, kept within 0..100
    Level, // "812", an integer drifting within base +- spread
    Counter, // "1042", only ever growing
    Json, // {"state":"running","load":0.73,"since":"13:02:11"}
    Position, // {"truck":"T-07","lat":52.51234,"lon":13.40495}
    Text, // "run 14: calibration drift within tolerance"
};

struct VariableSpec {
    const char* name;
    ValueKind kind;
    double base = 0;
    double spread = 0;
};

struct ServiceSpec {
    const char* tenant;
    const char* service;
    std::vector<VariableSpec> variables;
    int workers;
};

const std::vector<ServiceSpec>& specs()
{
    static const std::vector<ServiceSpec> all = {
        { "factory", "press-line",
            { { "temperature", ValueKind::Temperature, 68, 6 }, { "strokes", ValueKind::Counter },
                { "mode", ValueKind::Json } },
            2 },
        { "factory", "paint-shop",
            { { "humidity", ValueKind::Percent, 45, 8 }, { "booth", ValueKind::Json },
                { "batches", ValueKind::Counter } },
            1 },
        { "factory", "quality",
            { { "reject-rate", ValueKind::Percent, 2.5, 2 }, { "inspected", ValueKind::Counter },
                { "last-inspection", ValueKind::Json } },
            1 },
        { "logistics", "warehouse", { { "pallets", ValueKind::Level, 820, 120 }, { "dock-status", ValueKind::Json } },
            1 },
        { "logistics", "fleet", { { "trucks-out", ValueKind::Level, 12, 8 }, { "last-position", ValueKind::Position } },
            1 },
        { "lab", "sensors",
            { { "co2-ppm", ValueKind::Level, 650, 250 }, { "temperature", ValueKind::Temperature, 21.5, 1.5 } }, 1 },
        { "lab", "experiments", { { "run", ValueKind::Counter }, { "notes", ValueKind::Text } }, 1 },
    };
    return all;
}

const char* const kStates[] = { "running", "running", "running", "idle", "maintenance" };
const char* const kNotes[] = { "calibration drift within tolerance", "sample batch logged", "centrifuge spun down",
    "reagent lot changed", "baseline re-measured", "results sent for review" };

double uniform(double low, double high) { return low + (high - low) * QRandomGenerator::global()->generateDouble(); }

int pick(int count) { return int(QRandomGenerator::global()->bounded(count)); }

struct VariableState {
    VariableSpec spec;
    double value = 0;
    qint64 count = 0;

    explicit VariableState(const VariableSpec& variable)
        : spec(variable)
        , value(variable.base)
        , count(1000 + pick(9000))
    {
    }

    // A random walk pulled back towards the base, so values stay plausible however long it runs.
    double drift(double step)
    {
        value += uniform(-step, step) + (spec.base - value) * 0.05;
        value = std::clamp(value, spec.base - spec.spread, spec.base + spec.spread);
        return value;
    }

    QByteArray next()
    {
        const QByteArray now = QTime::currentTime().toString(QStringLiteral("HH:mm:ss")).toLatin1();
        switch (spec.kind) {
        case ValueKind::Temperature:
            return QByteArray::number(drift(spec.spread / 6), 'f', 1);
        case ValueKind::Percent:
            return QByteArray::number(std::clamp(drift(spec.spread / 5), 0.0, 100.0), 'f', 1);
        case ValueKind::Level:
            return QByteArray::number(qint64(std::llround(drift(std::max(1.0, spec.spread / 8)))));
        case ValueKind::Counter:
            count += 1 + pick(5);
            return QByteArray::number(count);
        case ValueKind::Json:
            return "{\"state\":\"" + QByteArray(kStates[pick(std::size(kStates))])
                + "\",\"load\":" + QByteArray::number(uniform(0.2, 0.98), 'f', 2) + ",\"since\":\"" + now + "\"}";
        case ValueKind::Position:
            return "{\"truck\":\"T-" + QByteArray::number(1 + pick(12)).rightJustified(2, '0')
                + "\",\"lat\":" + QByteArray::number(52.52 + uniform(-0.08, 0.08), 'f', 5)
                + ",\"lon\":" + QByteArray::number(13.40 + uniform(-0.12, 0.12), 'f', 5) + "}";
        case ValueKind::Text:
            ++count;
            return "run " + QByteArray::number(count % 100) + ": " + kNotes[pick(std::size(kNotes))];
        }
        return {};
    }
};

constexpr qint64 kMinAliveBeforeKillMs = 1000;

QString describe(const protocol::Error& error)
{
    return protocol::errorCodeName(error.code) + QLatin1String(": ") + error.message;
}

} // namespace

struct DemoWorkload::Service {
    QString tenant;
    QString service;
    int workers = 1;
    std::vector<VariableState> variables;
    std::size_t nextVariable = 0;
    QString regionPath;
    int serial = 0; // numbers the workers' names
};

struct DemoWorkload::Worker {
    std::size_t service = 0;
    QString name;
    QProcess* process = nullptr;
    qint64 pid = 0;
    QElapsedTimer attached; // valid once the worker reported its slot
    bool killed = false;
};

const std::vector<DemoWorkload::ServicePlan>& DemoWorkload::plan()
{
    static const std::vector<ServicePlan> plans = [] {
        std::vector<ServicePlan> result;
        for (const ServiceSpec& spec : specs()) {
            ServicePlan service { QString::fromLatin1(spec.tenant), QString::fromLatin1(spec.service), {},
                spec.workers };
            for (const VariableSpec& variable : spec.variables)
                service.variables.append(QString::fromLatin1(variable.name));
            result.push_back(std::move(service));
        }
        return result;
    }();
    return plans;
}

DemoWorkload::DemoWorkload(QObject* parent)
    : DemoWorkload(Options {}, parent)
{
}

DemoWorkload::DemoWorkload(Options options, QObject* parent)
    : QObject(parent)
    , m_options(options)
    , m_writeTimer(new QTimer(this))
    , m_killTimer(new QTimer(this))
{
    m_killTimer->setSingleShot(true);
    connect(m_writeTimer, &QTimer::timeout, this, &DemoWorkload::writeVariables);
    connect(m_killTimer, &QTimer::timeout, this, &DemoWorkload::killOne);
}

DemoWorkload::~DemoWorkload() { stop(); }

void DemoWorkload::start(const QUrl& url, const QString& adminKey, const QString& workerProgram)
{
    stop();
    m_errorString.clear();
    m_workerProgram = workerProgram;
    m_services.clear();
    for (const ServiceSpec& spec : specs()) {
        auto service = std::make_unique<Service>();
        service->tenant = QString::fromLatin1(spec.tenant);
        service->service = QString::fromLatin1(spec.service);
        service->workers = spec.workers;
        for (const VariableSpec& variable : spec.variables)
            service->variables.emplace_back(variable);
        m_services.push_back(std::move(service));
    }

    BrokerClient::Options clientOptions;
    clientOptions.initialBackoff = std::chrono::milliseconds(100);
    clientOptions.maxBackoff = std::chrono::milliseconds(2000);
    m_client = new BrokerClient(clientOptions, this);
    m_client->open(url);
    // Requests wait for the connection, and go out in order: the first one authenticates.
    const quint64 generation = m_generation;
    m_client->request(protocol::Authenticate { std::nullopt, protocol::ApiKeyCredential { adminKey },
                          QStringLiteral("commy-monitor demo") },
        [this, generation](const Expected<protocol::AuthenticateResult, protocol::Error>& reply) {
            if (generation != m_generation)
                return;
            if (!reply)
                return fail(tr("The demo cannot authenticate: %1").arg(describe(reply.error())));
            provision(0);
        });
}

// The provisioning requests, one after another: tenants, services (each with its variables), then
// the services' region paths. `step` counts them; what already exists is kept.
void DemoWorkload::provision(std::size_t step)
{
    std::vector<QString> tenants;
    for (const auto& service : m_services) {
        if (std::find(tenants.begin(), tenants.end(), service->tenant) == tenants.end())
            tenants.push_back(service->tenant);
    }
    std::size_t index = step;
    protocol::Request request;
    std::function<void(const protocol::ResultData&)> onResult;
    bool found = false;
    if (index < tenants.size()) {
        request = protocol::CreateTenant { tenants[index] };
        found = true;
    } else {
        index -= tenants.size();
    }
    for (std::size_t s = 0; !found && s < m_services.size(); ++s) {
        Service& service = *m_services[s];
        if (index == 0) {
            request = protocol::CreateService { service.tenant, service.service, m_options.serviceSize,
                m_options.serviceLimit };
            found = true;
        } else if (index <= service.variables.size()) {
            VariableState& variable = service.variables[index - 1];
            request = protocol::AllocateVariable { service.tenant, service.service,
                QString::fromLatin1(variable.spec.name), variable.next() };
            found = true;
        } else {
            index -= service.variables.size() + 1;
        }
    }
    for (std::size_t s = 0; !found && s < m_services.size(); ++s) {
        if (index-- != 0)
            continue;
        Service* service = m_services[s].get();
        request = protocol::GetServiceFilePath { service->tenant, service->service };
        onResult = [service](const protocol::ResultData& result) {
            service->regionPath = std::get<protocol::ServiceFilePathResult>(result).path;
        };
        found = true;
    }
    if (!found) {
        m_running = true;
        for (std::size_t s = 0; s < m_services.size(); ++s) {
            for (int i = 0; i < m_services[s]->workers; ++i)
                startWorker(s);
        }
        m_writeTimer->start(m_options.writeInterval);
        scheduleKill();
        emit started();
        return;
    }

    const quint64 generation = m_generation;
    const QString type = protocol::requestTypeName(request);
    m_client->send(std::move(request),
        [this, generation, step, type, onResult = std::move(onResult)](const BrokerClient::Reply& reply) {
            if (generation != m_generation)
                return;
            if (!reply && reply.error().code != protocol::ErrorCode::AlreadyExists)
                return fail(tr("The demo cannot set up its services (%1): %2").arg(type, describe(reply.error())));
            if (reply && onResult)
                onResult(*reply);
            provision(step + 1);
        });
}

void DemoWorkload::fail(const QString& message)
{
    m_errorString = message;
    emit errorOccurred(message);
}

void DemoWorkload::startWorker(std::size_t service)
{
    Service& target = *m_services[service];
    auto worker = std::make_unique<Worker>();
    worker->service = service;
    worker->name = target.service + QLatin1Char('-') + QString::number(++target.serial);
    auto* process = new QProcess(this);
    worker->process = process;
    process->setProgram(m_workerProgram);
    process->setArguments({ QStringLiteral("--demo-worker"), target.regionPath, worker->name });
    // stdin stays the pipe QProcess opens: its end of file is how a worker learns we are gone.
    // stdout says when it has attached; stderr (its complaints) goes where ours goes.
    process->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    Worker* raw = worker.get();
    connect(process, &QProcess::readyReadStandardOutput, this, [raw] {
        while (raw->process->canReadLine()) {
            if (raw->process->readLine().startsWith("attached "))
                raw->attached.start();
        }
    });
    connect(process, &QProcess::started, this, [this, raw] {
        raw->pid = raw->process->processId();
        const Service& owner = *m_services[raw->service];
        emit workerStarted(owner.tenant, owner.service, raw->name, raw->pid);
    });
    connect(process, &QProcess::finished, this, [this, raw] { onWorkerFinished(raw); });
    connect(process, &QProcess::errorOccurred, this, [this, raw](QProcess::ProcessError error) {
        if (error != QProcess::FailedToStart)
            return; // a crash or kill also ends with finished()
        const QString message = tr("Cannot start the demo worker %1: %2").arg(raw->name, raw->process->errorString());
        raw->process->deleteLater();
        std::erase_if(m_workers, [raw](const std::unique_ptr<Worker>& w) { return w.get() == raw; });
        fail(message);
    });
    m_workers.push_back(std::move(worker));
    process->start();
}

void DemoWorkload::onWorkerFinished(Worker* worker)
{
    const std::size_t service = worker->service;
    const bool killed = worker->killed;
    if (!killed && worker->process->exitStatus() == QProcess::NormalExit && worker->process->exitCode() != 0)
        qWarning("demo worker %s exited with code %d", qPrintable(worker->name), worker->process->exitCode());
    worker->process->deleteLater();
    std::erase_if(m_workers, [worker](const std::unique_ptr<Worker>& w) { return w.get() == worker; });
    if (!m_running)
        return;
    const quint64 generation = m_generation;
    QTimer::singleShot(m_options.replaceDelay, this, [this, generation, service] {
        if (generation == m_generation && m_running)
            startWorker(service);
    });
    if (killed && m_options.cleanupDelay.count() > 0) {
        QTimer::singleShot(m_options.cleanupDelay, this, [this, generation, service] {
            if (generation == m_generation && m_running)
                cleanupService(service);
        });
    }
}

void DemoWorkload::writeVariables()
{
    // A broker that stops answering is not flooded: writes wait for the earlier ones.
    if (m_pendingWrites > int(m_services.size()) * 4)
        return;
    const quint64 generation = m_generation;
    for (const auto& service : m_services) {
        if (service->variables.empty())
            continue;
        VariableState& variable = service->variables[service->nextVariable++ % service->variables.size()];
        ++m_pendingWrites;
        m_client->request(protocol::WriteVariable { service->tenant, service->service,
                              QString::fromLatin1(variable.spec.name), variable.next(), std::nullopt },
            [this, generation](const Expected<protocol::WriteResult, protocol::Error>&) {
                // A failed write (the service deleted in the monitor, say) is simply not retried.
                if (generation == m_generation)
                    --m_pendingWrites;
            });
    }
}

void DemoWorkload::scheduleKill()
{
    const qint64 low = m_options.killIntervalMin.count();
    const qint64 high = std::max(low, qint64(m_options.killIntervalMax.count()));
    if (high <= 0)
        return;
    m_killTimer->start(std::chrono::milliseconds(low + qint64(QRandomGenerator::global()->bounded(high - low + 1))));
}

void DemoWorkload::killOne()
{
    std::vector<Worker*> candidates;
    for (const auto& worker : m_workers) {
        // Only a worker that has shown up alive for a moment: the monitor sees it live, then dead.
        if (!worker->killed && worker->attached.isValid() && worker->attached.elapsed() >= kMinAliveBeforeKillMs
            && worker->process->state() == QProcess::Running)
            candidates.push_back(worker.get());
    }
    if (!candidates.empty()) {
        Worker* victim = candidates[std::size_t(pick(int(candidates.size())))];
        victim->killed = true;
        victim->process->kill(); // SIGKILL: no chance to detach or free anything
        const Service& owner = *m_services[victim->service];
        emit workerKilled(owner.tenant, owner.service, victim->name, victim->pid);
    }
    scheduleKill();
}

void DemoWorkload::cleanupService(std::size_t service)
{
    const Service& target = *m_services[service];
    // The monitor may have cleaned up already; then this finds nothing to do.
    m_client->request(protocol::CleanupRegion { target.tenant, target.service },
        [](const Expected<protocol::CleanupResult, protocol::Error>&) {});
}

void DemoWorkload::stop()
{
    ++m_generation;
    m_running = false;
    m_writeTimer->stop();
    m_killTimer->stop();
    m_pendingWrites = 0;
    stopWorkers();
    if (m_client) {
        m_client->close();
        m_client->deleteLater();
        m_client = nullptr;
    }
}

void DemoWorkload::stopWorkers()
{
    std::vector<std::unique_ptr<Worker>> workers = std::move(m_workers);
    m_workers.clear();
    for (const auto& worker : workers) {
        disconnect(worker->process, nullptr, this, nullptr);
        if (worker->process->state() != QProcess::NotRunning) {
            worker->process->closeWriteChannel();
            worker->process->terminate();
        }
    }
    const QDeadlineTimer deadline(m_options.stopTimeout);
    for (const auto& worker : workers) {
        if (worker->process->state() == QProcess::NotRunning)
            continue;
        if (!worker->process->waitForFinished(int(std::max<qint64>(1, deadline.remainingTime())))) {
            worker->process->kill();
            worker->process->waitForFinished(5000);
        }
    }
    for (const auto& worker : workers)
        delete worker->process;
}

bool DemoWorkload::isRunning() const { return m_running; }

QString DemoWorkload::errorString() const { return m_errorString; }

QList<qint64> DemoWorkload::workerPids() const
{
    QList<qint64> pids;
    for (const auto& worker : m_workers) {
        // A killed worker may not be reaped yet, but it is not running any more.
        if (worker->pid > 0 && !worker->killed && worker->process->state() != QProcess::NotRunning)
            pids.append(worker->pid);
    }
    return pids;
}

} // namespace commy::monitor
