#pragma once

// Reads a server's TLS identity from PEM files into a QSslConfiguration for wss.

#include <commy/shm/expected.h>

#include <QSslConfiguration>
#include <QString>

namespace commy::broker {

// `certificateFile`: the server certificate, optionally followed by its chain; `keyFile`: its
// unencrypted private key (RSA or EC). The error names the file and what is wrong with it.
Expected<QSslConfiguration, QString> loadTlsConfiguration(const QString& certificateFile, const QString& keyFile);

} // namespace commy::broker
