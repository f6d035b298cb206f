#include "key_store.h"

#include <qt6keychain/keychain.h>

namespace commy::monitor {

KeyStore::KeyStore(QObject* parent)
    : QObject(parent)
{
}

QtKeychainStore::QtKeychainStore(const QString& service, QObject* parent)
    : KeyStore(parent)
    , m_service(service)
{
}

namespace {

template <class Job> Job* makeJob(const QString& service, const QString& entry, QObject* parent)
{
    auto* job = new Job(service, parent);
    job->setAutoDelete(true);
    // Never into a plain settings file: without a keychain the key stays in memory.
    job->setInsecureFallback(false);
    job->setKey(entry);
    return job;
}

QString jobError(const QKeychain::Job& job)
{
    return job.errorString().isEmpty() ? QObject::tr("keychain error %1").arg(int(job.error())) : job.errorString();
}

} // namespace

void QtKeychainStore::probe(ProbeDone done)
{
    // Reading an entry that does not exist tells a working keychain (EntryNotFound) from a missing one.
    auto* job = makeJob<QKeychain::ReadPasswordJob>(m_service, QStringLiteral("commy-monitor-probe"), this);
    connect(job, &QKeychain::Job::finished, this, [done = std::move(done)](QKeychain::Job* finished) {
        const QKeychain::Error error = finished->error();
        if (error == QKeychain::NoError || error == QKeychain::EntryNotFound)
            done(true, {});
        else
            done(false, jobError(*finished));
    });
    job->start();
}

void QtKeychainStore::read(const QString& entry, ReadDone done)
{
    auto* job = makeJob<QKeychain::ReadPasswordJob>(m_service, entry, this);
    connect(job, &QKeychain::Job::finished, this, [done = std::move(done)](QKeychain::Job* finished) {
        const auto* reader = static_cast<QKeychain::ReadPasswordJob*>(finished);
        if (finished->error() == QKeychain::NoError)
            done(reader->textData(), {});
        else if (finished->error() == QKeychain::EntryNotFound)
            done(std::nullopt, {});
        else
            done(std::nullopt, jobError(*finished));
    });
    job->start();
}

void QtKeychainStore::write(const QString& entry, const QString& key, Done done)
{
    auto* job = makeJob<QKeychain::WritePasswordJob>(m_service, entry, this);
    job->setTextData(key);
    connect(job, &QKeychain::Job::finished, this, [done = std::move(done)](QKeychain::Job* finished) {
        done(finished->error() == QKeychain::NoError ? QString() : jobError(*finished));
    });
    job->start();
}

void QtKeychainStore::remove(const QString& entry, Done done)
{
    auto* job = makeJob<QKeychain::DeletePasswordJob>(m_service, entry, this);
    connect(job, &QKeychain::Job::finished, this, [done = std::move(done)](QKeychain::Job* finished) {
        const QKeychain::Error error = finished->error();
        done(error == QKeychain::NoError || error == QKeychain::EntryNotFound ? QString() : jobError(*finished));
    });
    job->start();
}

} // namespace commy::monitor
