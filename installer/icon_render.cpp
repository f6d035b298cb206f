// icon_render: renders the application's SVG icon to PNG files of the sizes the hicolor theme wants,
// at build time, through Qt's own SVG image plugin (libqt6svg6, which the monitor already needs), so
// that no rendered binary is kept in the repository.
// Usage: icon_render SVG OUTPUT_DIR SIZE... -> OUTPUT_DIR/<SIZE>x<SIZE>/apps/<name of SVG>.png

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QImage>
#include <QImageReader>

#include <cstdio>

int main(int argc, char** argv)
{
    // A QCoreApplication finds the image plugins; painting into a QImage needs no display.
    QCoreApplication app(argc, argv);
    const QStringList arguments = QCoreApplication::arguments();
    if (arguments.size() < 4) {
        std::fprintf(stderr, "usage: icon_render SVG OUTPUT_DIR SIZE...\n");
        return 2;
    }
    const QString svg = arguments.at(1);
    const QDir outputDir(arguments.at(2));
    const QString fileName = QFileInfo(svg).completeBaseName() + QStringLiteral(".png");
    for (const QString& sizeText : arguments.mid(3)) {
        bool ok = false;
        const int size = sizeText.toInt(&ok);
        if (!ok || size <= 0 || size > 4096) {
            std::fprintf(stderr, "icon_render: bad size '%s'\n", qPrintable(sizeText));
            return 2;
        }
        QImageReader reader(svg, "svg");
        reader.setScaledSize(QSize(size, size));
        const QImage image = reader.read();
        if (image.isNull()) {
            std::fprintf(
                stderr, "icon_render: cannot render %s: %s\n", qPrintable(svg), qPrintable(reader.errorString()));
            return 1;
        }
        const QString folder = QStringLiteral("%1x%1/apps").arg(size);
        const QString path = outputDir.filePath(folder + QLatin1Char('/') + fileName);
        if (!outputDir.mkpath(folder) || !image.save(path, "PNG")) {
            std::fprintf(stderr, "icon_render: cannot write %s\n", qPrintable(path));
            return 1;
        }
    }
    return 0;
}
