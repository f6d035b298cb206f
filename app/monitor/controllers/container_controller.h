#pragma once

// The selected root: its kind, type, length and version, and its decoded elements through BrowseRoot
// (ContainerElementsModel's fetcher, so only the rows on screen are read). While selected, the root's
// version is read every second (BrowseRoot of one element); when it moves, the rows in view are read
// again. Variable changes pushed by the broker move it at once.

#include "../snapshots.h"

#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QtQml/qqmlregistration.h>

Q_MOC_INCLUDE("../models/container_elements_model.h")

namespace commy::monitor {

class BrokerConnection;
class ContainerElementsModel;

class ContainerController : public QObject {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("MonitorController.container")
    Q_PROPERTY(QString root READ root NOTIFY changed)
    Q_PROPERTY(QString kind READ kind NOTIFY changed)
    Q_PROPERTY(QString type READ type NOTIFY changed)
    Q_PROPERTY(quint64 length READ length NOTIFY changed)
    Q_PROPERTY(quint64 version READ version NOTIFY changed)
    Q_PROPERTY(bool active READ isActive NOTIFY changed)
    Q_PROPERTY(commy::monitor::ContainerElementsModel* elements READ elements CONSTANT)

public:
    static constexpr int kPollIntervalMs = 1000;

    explicit ContainerController(QObject* parent = nullptr);
    ~ContainerController() override;

    void setTarget(BrokerConnection* connection, const QString& tenant, const QString& service, const QString& root);
    void clear();

    QString root() const;
    QString kind() const;
    QString type() const;
    quint64 length() const;
    quint64 version() const;
    bool isActive() const;
    ContainerElementsModel* elements() const;

    // The value viewer's hex dump of a value's UTF-8 bytes.
    Q_INVOKABLE QString hexOf(const QString& value) const;

signals:
    void changed();

private:
    void fetch(quint64 offset, quint64 limit, const std::function<void(const ElementPage&)>& done);
    void poll();
    void follow(const RootSnapshot& root);
    void onRootsChanged(const QString& tenant, const QString& service);
    // Rows the model holds for a root of this kind and length: a string root is one element.
    quint64 rowsFor(quint64 length) const;
    bool browsable() const;

    QPointer<BrokerConnection> m_connection;
    QString m_tenant;
    QString m_service;
    RootSnapshot m_root;
    ContainerElementsModel* m_elements;
    QTimer m_poll;
    quint64 m_target = 0;
    bool m_pollInFlight = false;
};

} // namespace commy::monitor
