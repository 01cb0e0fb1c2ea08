#!/bin/sh
# One-shot set-up of the compose stack's object store, safe to run again: the photo bucket,
# the application's own access key (read and write, not the administrator's), and
# anonymous reads of rendition files only, so browsers load them straight from the store
# (SNAPSCALE_MEDIA_BASE_URL) while originals, which keep the uploader's metadata, stay
# private.
set -eu

mc alias set store http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "store/$BUCKET"

mc admin user add store "$SNAPSCALE_S3_ACCESS_KEY_ID" "$SNAPSCALE_S3_SECRET_ACCESS_KEY"
if ! mc admin user info store "$SNAPSCALE_S3_ACCESS_KEY_ID" | grep -q readwrite; then
    mc admin policy attach store readwrite --user "$SNAPSCALE_S3_ACCESS_KEY_ID"
fi

policy=$(mktemp)
cat > "$policy" <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {"AWS": ["*"]},
      "Action": ["s3:GetObject"],
      "Resource": ["arn:aws:s3:::$BUCKET/photos/*/*.webp"]
    }
  ]
}
POLICY
mc anonymous set-json "$policy" "store/$BUCKET"
rm -f "$policy"
echo "bucket $BUCKET ready"
