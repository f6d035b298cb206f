#pragma once

// The decoded elements of one container root, read lazily through an injected fetcher (BrowseRoot on a
// broker, a ContainerReader on a local region, a fake in tests). Rows arrive page by page as a view
// scrolls (canFetchMore / fetchMore). When the root changes (setVersion), rows past the new length go,
// the loaded rows become stale, and a page is read again only when a view asks for one of its rows -
// that is, only the rows on screen are refreshed.

#include "../snapshots.h"

#include <QAbstractTableModel>
#include <QSet>
#include <QTimer>
#include <QtQml/qqmlregistration.h>

#include <functional>
#include <vector>

namespace commy::monitor {

class ContainerElementsModel : public QAbstractTableModel {
    Q_OBJECT
    QML_ELEMENT
    Q_PROPERTY(quint64 length READ length NOTIFY lengthChanged)
    Q_PROPERTY(quint64 version READ version NOTIFY versionChanged)
    Q_PROPERTY(int pageSize READ pageSize WRITE setPageSize NOTIFY pageSizeChanged)
    Q_PROPERTY(bool loading READ isLoading NOTIFY loadingChanged)
    Q_PROPERTY(QString errorString READ errorString NOTIFY errorOccurred)

public:
    enum Column { IndexColumn, KeyColumn, ValueColumn, ColumnCount };
    Q_ENUM(Column)

    using PageCallback = std::function<void(const ElementPage& page)>;
    // Reads elements [offset, offset + limit) of the root, at once or later, and calls `done` exactly
    // once: with the elements (fewer at the end), or with an error. A `done` that comes after the model
    // was reset or destroyed does nothing.
    using Fetcher = std::function<void(quint64 offset, quint64 limit, PageCallback done)>;

    explicit ContainerElementsModel(QObject* parent = nullptr);
    ~ContainerElementsModel() override;

    // Browses another root (a reset). `length` and `version` as the tree reports them.
    void setSource(Fetcher fetcher, quint64 length, quint64 version);
    Q_INVOKABLE void clear();
    // The root is now at `version` with `length` elements. Older versions are ignored.
    void setVersion(quint64 version, quint64 length);

    quint64 length() const;
    quint64 version() const;
    int pageSize() const;
    // Drops the loaded rows when it changes (a reset).
    void setPageSize(int rows);
    bool isLoading() const;
    QString errorString() const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;
    bool canFetchMore(const QModelIndex& parent) const override;
    void fetchMore(const QModelIndex& parent) override;

signals:
    void lengthChanged();
    void versionChanged();
    void pageSizeChanged();
    void loadingChanged();
    void errorOccurred(const QString& message);

private:
    struct Row {
        ElementSnapshot element;
        quint64 version = 0; // of the read that brought it
    };

    void resetRows();
    void want(quint64 page);
    void requestWanted();
    void request(quint64 offset, quint64 limit);
    void receive(quint64 generation, quint64 offset, quint64 limit, const ElementPage& page);
    void setLength(quint64 length);
    bool isStale(const Row& row) const { return row.version < m_version; }

    Fetcher m_fetcher;
    std::vector<Row> m_rows;
    quint64 m_length = 0;
    quint64 m_version = 0;
    quint64 m_generation = 0; // bumped by every reset: answers to older reads are dropped
    int m_pageSize = 100;
    QSet<quint64> m_inFlight; // pages with a read on its way
    QSet<quint64> m_failed; // pages whose read failed at this version: not retried until the version moves
    QSet<quint64> m_wanted; // stale pages a view asked for: read on the next turn of the event loop
    bool m_tailWanted = false; // everything was loaded and the root grew: read the new tail
    QTimer m_requestTimer;
    QString m_errorString;
};

} // namespace commy::monitor
