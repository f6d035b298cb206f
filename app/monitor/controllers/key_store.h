#pragma once

// Where saved keys live: the operating system's keychain (Secret Service, KWallet, macOS Keychain,
// Windows Credential Manager) through QtKeychain, never a settings file. Asynchronous: each call
// answers later through its callback, never from inside the call. Tests inject a fake.

#include <QObject>
#include <QString>

#include <functional>
#include <optional>

namespace commy::monitor {

class KeyStore : public QObject {
    Q_OBJECT

public:
    using Done = std::function<void(const QString& error)>; // empty error: done
    using ReadDone = std::function<void(const std::optional<QString>& key, const QString& error)>;
    using ProbeDone = std::function<void(bool available, const QString& reason)>;

    explicit KeyStore(QObject* parent = nullptr);

    // Whether keys can be saved at all; `reason` says why not.
    virtual void probe(ProbeDone done) = 0;
    // No entry: nullopt and no error.
    virtual void read(const QString& entry, ReadDone done) = 0;
    virtual void write(const QString& entry, const QString& key, Done done) = 0;
    // A missing entry is not an error.
    virtual void remove(const QString& entry, Done done) = 0;
};

class QtKeychainStore : public KeyStore {
    Q_OBJECT

public:
    // `service` names the application's entries in the keychain.
    explicit QtKeychainStore(const QString& service = QStringLiteral("commy-monitor"), QObject* parent = nullptr);

    void probe(ProbeDone done) override;
    void read(const QString& entry, ReadDone done) override;
    void write(const QString& entry, const QString& key, Done done) override;
    void remove(const QString& entry, Done done) override;

private:
    QString m_service;
};

} // namespace commy::monitor
