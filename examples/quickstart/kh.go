package main

import (
	"context"

	"github.com/banksdk/banksdk/examples/internal/demo"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

func init() {
	register("kh", func(ctx context.Context, r *runner) error {
		srv := khtest.NewServer()
		defer srv.Close()
		c, err := kh.NewClient(kh.WithBaseURL(srv.URL()), kh.WithClientCertificate(srv.ClientCertificate()),
			kh.WithRootCAs(srv.RootCAs()), kh.WithLogger(r.logger))
		if err != nil {
			return err
		}
		id, pw, otp := srv.PSU()
		return demo.KH(ctx, r, c, demo.KHOptions{
			RegisterApp: true, PSUID: id, Password: pw, OTP: func() (string, error) { return otp, nil },
			IP: "192.0.2.10", CreditorIBAN: "HU42117730161111101800000000",
		})
	})
}
